"""A local emulator of the Apigee, Cloud KMS, Compute and Service Networking REST APIs.

Only the parts the region workflow uses, with their real URL shapes, long-running
operations that take ``op_seconds``, Google error JSON, fault injection and a verdict.
"""
from lab.gcp.server import CALL_NAMES, GcpEmulator

__all__ = ["CALL_NAMES", "GcpEmulator"]
