"""The fleet runner: plans and carries out the Apigee Edge 4.16.09 -> 4.18.01 update."""

TARGET_VERSION = "4.18.01"
SOURCE_VERSION = "4.16.09"
