"""CreatOK's endpoint paths, defined once for the client, the emulator, tests and benchmarks.

No imports: the emulator and the CLI's fast paths read it without loading anything else.
"""

API_PREFIX = "/api/open/skills/"
CAPABILITIES_PATH = API_PREFIX + "capabilities"
PRESIGN_PATH = API_PREFIX + "upload/image/presigned"
SUBMIT_PATH = API_PREFIX + "image-generation"
STATUS_PATH = API_PREFIX + "tasks/status"
IMAGE_TASK_TYPE = "image_generation"
"""The ``task_type`` of a status check for an image task."""
