"""Starts moto_server with two fixes for IAM-enforced tests (moto 5.2.x).

Everything else is stock moto. The two differences, and why:

1. SigV4 of S3 requests with an escaped character in the query (getmoto/moto#5948).
   ListObjectsV2 with `prefix=.pulumi/stacks/` or `delimiter=/` is answered with
   SignatureDoesNotMatch even for a valid key, because moto rebuilds the canonical
   request from werkzeug's `Request.url`, which re-quotes the query and turns `%2F`
   into `/`. Fix: `Request.url` returns `base_url` + `?` + the raw QUERY_STRING of
   the WSGI environ, i.e. the query exactly as the client signed it. Wrong secrets
   are still rejected.

2. IAM actions authorised against resource `*`. Stock moto resolves only role
   resources, so a policy that allows `iam:CreateAccessKey` on one user's ARN never
   allows anything. Fix: a request carrying a `UserName` parameter is authorised
   against that user's ARN (with its path when the user exists). Clients must then
   pass `UserName` explicitly (valid on real AWS too).

3. `POST /moto-api/reset` also resets the count of free (unauthenticated) calls, so a
   test fixture can bootstrap a fresh admin user after each reset.

Usage: python3 moto_launcher.py -H 127.0.0.1 -p PORT   (the same arguments as moto_server)
"""
import sys

import werkzeug.wrappers


def _raw_url(self):
    query = self.environ.get("QUERY_STRING", "")
    return self.base_url + ("?" + query if query else "")


werkzeug.wrappers.Request.url = property(_raw_url)  # type: ignore[assignment]

from moto.iam import responses as iam_responses  # noqa: E402
from moto.iam.models import iam_backends  # noqa: E402

_original_determine = iam_responses.IamResponse._determine_resource


def _determine_resource(self):
    resource = _original_determine(self)
    if resource != "*":
        return resource
    names = self.data.get("UserName") if isinstance(self.data, dict) else None
    if not names:
        return "*"
    name = names[0] if isinstance(names, list) else names
    backend = iam_backends[self.current_account][self.partition]
    try:
        return backend.get_user(name).arn
    except Exception:  # the user does not exist (yet): its ARN with the default path
        return f"arn:{self.partition}:iam::{self.current_account}:user/{name}"


iam_responses.IamResponse._determine_resource = _determine_resource

from moto.core.responses import ActionAuthenticatorMixin  # noqa: E402
from moto.moto_api._internal import models as api_models  # noqa: E402

_original_reset = api_models.MotoAPIBackend.reset


def _reset(self):
    _original_reset(self)
    ActionAuthenticatorMixin.request_count = 0


api_models.MotoAPIBackend.reset = _reset

from moto.server import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
