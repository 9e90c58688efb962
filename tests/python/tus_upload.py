#!/usr/bin/env python3
"""Uploads a file to heartlink with tuspy, a third-party tus 1.0.0 client
that knows nothing of heartlink: only the endpoint from docs/PROTOCOL.md
and the Bearer token. Prints `media_id <id>` on success.

Usage: tus_upload.py HTTP_BASE TOKEN FILE CHUNK_BYTES
"""

import sys

from tusclient import client


def main() -> int:
    base, token, path, chunk = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    tus = client.TusClient(f"{base}/media/uploads", headers={"Authorization": f"Bearer {token}"})
    uploader = tus.uploader(
        file_path=path,
        chunk_size=chunk,
        metadata={"filename": path.rsplit("/", 1)[-1], "filetype": "application/x-test"},
        upload_checksum=True,
    )
    uploader.upload()
    if uploader.offset != uploader.get_file_size():
        print(f"stopped at {uploader.offset} of {uploader.get_file_size()}", file=sys.stderr)
        return 1
    print(f"media_id {uploader.url.rstrip('/').rsplit('/', 1)[-1]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
