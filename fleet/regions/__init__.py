"""Apigee X: add or remove a runtime region as a plan of Google API calls.

inputs (YAML/flags) -> snapshot of the org (read only) -> guards -> pure planner -> Plan
-> executor (google-api-python-client, resumable steps, journal) -> reports/RUN_ID/.
"""
