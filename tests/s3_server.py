"""A real S3 server on loopback for the tests: moto's, in a thread of the test process, on a free
port of 127.0.0.1 (never 0.0.0.0, its default), with one bucket and throwaway credentials."""
from __future__ import annotations

from contextlib import contextmanager

KEY_ID, SECRET = "xstilts-test-key-id", "xstilts-test-secret-do-not-commit"


@contextmanager
def s3_server(bucket: str = "xstilts-cache"):
    """Yields the endpoint URL ('http://127.0.0.1:PORT') of a server holding `bucket`."""
    import boto3
    from moto.server import ThreadedMotoServer
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        endpoint = f"http://127.0.0.1:{server.get_host_and_port()[1]}"
        boto3.client("s3", endpoint_url=endpoint, aws_access_key_id=KEY_ID, aws_secret_access_key=SECRET,
                     region_name="us-east-1").create_bucket(Bucket=bucket)
        yield endpoint
    finally:
        server.stop()


def configure(repo, run, endpoint: str, bucket: str = "xstilts-cache", name: str = "shared",
              with_credentials: bool = True) -> None:
    """`dvc remote add -d` (tracked: the url only) and, in .dvc/config.local (git-ignored), the endpoint
    and the credentials: the setup docs/scale-out.md describes."""
    run(["dvc", "remote", "add", "-f", "-d", name, f"s3://{bucket}/cache"], repo)
    run(["dvc", "remote", "modify", "--local", name, "endpointurl", endpoint], repo)
    if with_credentials:
        run(["dvc", "remote", "modify", "--local", name, "access_key_id", KEY_ID], repo)
        run(["dvc", "remote", "modify", "--local", name, "secret_access_key", SECRET], repo)


# boto looks for credentials in the environment and in ~/.aws too: a test of "no credentials" blanks both
NO_AMBIENT_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_SESSION_TOKEN": "",
                          "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/credentials",
                          "AWS_CONFIG_FILE": "/nonexistent/config", "AWS_EC2_METADATA_DISABLED": "true"}
