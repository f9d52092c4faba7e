"""Starts moto_server with fixes for IAM-enforced tests (moto 5.2.x).

Everything else is stock moto. The differences, and why:

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
   against that user's ARN (with its path when the user exists), and
   `GetAccessKeyLastUsed` against the ARN of the key's owner, as AWS does. Clients must then
   pass `UserName` explicitly (valid on real AWS too).

3. `POST /moto-api/reset` also resets the count of free (unauthenticated) calls, so a
   test fixture can bootstrap a fresh admin user after each reset.

4. Policy conditions. Stock moto evaluates only `StringEquals` (every other operator
   counts as matched, a missing condition key counts as matched) and takes a statement
   whose condition does not match as an explicit Deny; requests carry no condition keys.
   So the TLS-only bucket policy (Deny s3:* when `aws:SecureTransport` is `false`, which
   moto checks on every object request) denied every GetObject/PutObject/DeleteObject —
   Pulumi could not use a hardened bucket at all — and an `s3:prefix` condition on
   s3:ListBucket limited nothing. Fix, as in AWS: a statement whose conditions do not
   match does not apply; `StringEquals`, `StringLike` and `Bool` are evaluated (other
   operators are still ignored); a missing key does not match; requests carry
   `aws:SecureTransport` and, from the S3 query, `s3:prefix`, `s3:delimiter`,
   `s3:max-keys`. moto is reached over plain HTTP only because it runs on loopback; it
   stands in for AWS's HTTPS endpoints, so `aws:SecureTransport` is `true` by default.
   Set MOTO_SECURE_TRANSPORT=false to see the TLS-only policy deny every object request.
   Operators ending in `IfExists` match when the key is missing.

5. The IAM action of `?encryption`, `?ownershipControls` and `?publicAccessBlock` bucket
   requests is the one AWS documents (s3:GetEncryptionConfiguration, ...), not the
   bucket's default action (s3:ListBucket / s3:CreateBucket).

6. KMS actions authorised against resource `*`. Stock moto resolves no KMS resource, so an
   identity policy that allows kms:Decrypt on one key's ARN (what `psb kms create` grants)
   never allows anything. Fix: a KMS request naming a key (KeyId / TargetKeyId: key id, key
   ARN, alias name or alias ARN) is authorised against that key's ARN, as AWS does; a
   Decrypt without KeyId against the key the ciphertext names. Requests naming no key (and
   an alias that does not exist) stay on `*`.

7. Cryptographic operations on a key that is not enabled. Stock moto encrypts and decrypts
   with a disabled key or one pending deletion. Fix, as in AWS: Encrypt, Decrypt,
   GenerateDataKey(WithoutPlaintext) and ReEncrypt answer DisabledException for a disabled
   key and KMSInvalidStateException for a key pending deletion.

8. KMS denials in the JSON protocol. Stock moto answers a denied KMS request with the XML
   error body of the query protocols, which AWS SDKs (JS v3, Go v2) cannot parse ("Unexpected
   token '<'"). Fix: the authentication and authorisation errors of KMS requests are answered
   as AWS does, `{"__type": "AccessDeniedException", "message": ...}` (the other codes keep
   their names: InvalidClientTokenId, SignatureDoesNotMatch, ...). A request naming a key
   or alias that does not exist is answered NotFoundException once its signature is valid
   (AWS cannot authorise against a key that is not there); moto would deny it on `*`.

9. Unsigned STS calls. AWS does not sign AssumeRoleWithWebIdentity and AssumeRoleWithSAML
   (the token is the credential; AWS SDKs send them without a signature), but stock moto with
   enforcement on requires a signature for every call and fails them with a 500. Fix: these two
   actions skip the signature and identity-policy check, as in AWS. moto still does not
   validate the token itself, so the trust conditions on `sub`/`aud` are not enforced (they
   are tested as data).

10. Accounts made by Organizations' CreateAccount. Stock moto makes the account's
   OrganizationAccountAccessRole (trusting the management account) with no permissions, so
   with IAM enforcement it can do nothing. Fix, as AWS does: the role gets the managed
   policy AdministratorAccess.

11. sts:AssumeRole of a role that does not exist, or whose trust policy does not name the
   caller. Stock moto hands out credentials for any role ARN (and every later call with
   them fails with a 500). Fix, as AWS does: AccessDenied ("... is not authorized to perform:
   sts:AssumeRole on resource: <role ARN>") unless the role exists in its account and an
   Allow statement of its trust policy names the caller's account (`arn:aws:iam::<id>:root`
   or the id), the caller's ARN, or `*`. Other trust conditions are not evaluated.

12. AWS managed policies built once. With MOTO_IAM_LOAD_MANAGED_POLICIES, every IAM backend
   that is (re)created builds its ~1500 AWS managed policies from moto's JSON again: about
   1.5 s of CPU per `reset` and admin bootstrap, made before every test, most of a moto-backed
   test's time. Fix: they are built once per account and partition; each new backend gets
   copies (its own attachment counts, tags and versions), with the same content.

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
    data = self.data if isinstance(self.data, dict) else {}
    backend = iam_backends[self.current_account][self.partition]
    names = data.get("UserName")
    if not names and data.get("Action") in ("GetAccessKeyLastUsed", ["GetAccessKeyLastUsed"]):
        # AWS authorises GetAccessKeyLastUsed against the ARN of the key's owner.
        key_ids = data.get("AccessKeyId")
        key_id = key_ids[0] if isinstance(key_ids, list) else key_ids
        try:
            names = backend.get_access_key_last_used(key_id)["user_name"]
        except Exception:
            return "*"
    if not names:
        return "*"
    name = names[0] if isinstance(names, list) else names
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

import fnmatch  # noqa: E402
import os  # noqa: E402
import threading  # noqa: E402

from moto.iam import access_control  # noqa: E402

SECURE_TRANSPORT = os.environ.get("MOTO_SECURE_TRANSPORT", "true").strip().lower()
_request = threading.local()  # the condition keys of the request being authorised


def _as_list(value):
    return value if isinstance(value, list) else [value]


def _string_equals(expected, actual):
    return str(actual) in [str(e) for e in _as_list(expected)]


def _string_like(expected, actual):
    return any(fnmatch.fnmatchcase(str(actual), str(e)) for e in _as_list(expected))


def _bool(expected, actual):
    return str(actual).lower() in [str(e).lower() for e in _as_list(expected)]


_OPERATORS = {"StringEquals": _string_equals, "StringLike": _string_like, "Bool": _bool}


class _ConditionContext(dict):
    """Request context keys; condition keys are case-insensitive in IAM."""

    def __init__(self, values):
        super().__init__({str(k).lower(): v for k, v in values.items()})

    def __contains__(self, key):
        return super().__contains__(str(key).lower())

    def __getitem__(self, key):
        return super().__getitem__(str(key).lower())


def _check_conditions(self, incoming_condition_values):
    conditions = self._statement.get("Condition")
    if not conditions:
        return True
    values = {"aws:SecureTransport": SECURE_TRANSPORT}
    values.update(getattr(_request, "values", None) or {})
    values.update(incoming_condition_values or {})
    context = _ConditionContext(values)
    for operator, entries in conditions.items():
        if_exists = operator.endswith("IfExists")
        evaluate = _OPERATORS.get(operator[: -len("IfExists")] if if_exists else operator)
        if evaluate is None:
            continue  # other operators: ignored, as stock moto does
        for key, expected in entries.items():
            if key not in context:
                if if_exists:
                    continue  # ...IfExists: a missing key matches
                return False  # a missing key does not match
            if not evaluate(expected, context[key]):
                return False
    return True


access_control.IAMPolicyStatement._check_conditions = _check_conditions

_original_statement_permitted = access_control.IAMPolicyStatement.is_action_permitted


def _statement_permitted(self, action, resource="*", principal=None, incoming_condition_values=None):
    # A statement whose conditions do not match does not apply (neither allows nor denies).
    if self._statement.get("Condition") and not self._check_conditions(incoming_condition_values):
        return access_control.PermissionResult.NEUTRAL
    return _original_statement_permitted(self, action, resource, principal, incoming_condition_values)


access_control.IAMPolicyStatement.is_action_permitted = _statement_permitted

_original_check_action_permitted = access_control.IAMRequestBase.check_action_permitted


def _check_action_permitted(self, resource):
    # S3 condition keys from the request's query: s3:prefix, s3:delimiter, s3:max-keys.
    values = {}
    data = self._data if isinstance(self._data, dict) else {}
    for param, key in (("prefix", "s3:prefix"), ("delimiter", "s3:delimiter"), ("max-keys", "s3:max-keys")):
        if param in data:
            v = data[param]
            values[key] = v[0] if isinstance(v, list) else v
    _request.values = values
    try:
        return _original_check_action_permitted(self, resource)
    finally:
        _request.values = None


access_control.IAMRequestBase.check_action_permitted = _check_action_permitted

# 5. The IAM actions AWS documents for these bucket sub-resources (stock moto authorises
#    them as the bucket's default action, s3:ListBucket / s3:CreateBucket / s3:DeleteBucket,
#    and spells the public-access-block key `public_access_block`, which never matches).
from moto.s3 import responses as s3_responses  # noqa: E402

for _method, _actions in {
    "GET": {
        "encryption": "GetEncryptionConfiguration",
        "ownershipControls": "GetBucketOwnershipControls",
        "publicAccessBlock": "GetBucketPublicAccessBlock",
    },
    "PUT": {
        "encryption": "PutEncryptionConfiguration",
        "ownershipControls": "PutBucketOwnershipControls",
        "publicAccessBlock": "PutBucketPublicAccessBlock",
    },
    "DELETE": {
        "encryption": "PutEncryptionConfiguration",
        "ownershipControls": "PutBucketOwnershipControls",
        "publicAccessBlock": "PutBucketPublicAccessBlock",
    },
}.items():
    s3_responses.ACTION_MAP["BUCKET"][_method].update(_actions)

# 6. KMS requests authorised against the key they name.
import json  # noqa: E402

from moto.kms import responses as kms_responses  # noqa: E402
from moto.kms.models import kms_backends  # noqa: E402
from moto.kms.utils import _deserialize_ciphertext_blob  # noqa: E402
import base64  # noqa: E402


def _kms_key(self):
    """The key a KMS request acts on (a moto Key), or None."""
    try:
        params = json.loads(self.body or "{}")
    except ValueError:
        return None
    backend = kms_backends[self.current_account][self.region]
    key_id = params.get("KeyId") or params.get("TargetKeyId") or params.get("SourceKeyId")
    if not key_id and params.get("CiphertextBlob"):
        try:
            key_id = _deserialize_ciphertext_blob(base64.b64decode(params["CiphertextBlob"])).key_id
        except Exception:
            return None
    if not key_id:
        return None
    try:
        return backend.keys.get(backend.any_id_to_key_id(key_id))
    except Exception:
        return None


def _names_missing_key(self):
    try:
        params = json.loads(self.body or "{}")
    except ValueError:
        return False
    named = params.get("KeyId") or params.get("TargetKeyId")
    return bool(named) and _kms_key(self) is None


def _kms_determine_resource(self):
    key = _kms_key(self)
    return key.arn if key is not None else "*"


kms_responses.KmsResponse._determine_resource = _kms_determine_resource

# 8. KMS denials as JSON.
from werkzeug.exceptions import HTTPException  # noqa: E402


def _kms_authorize(self, resource="*"):
    try:
        _original_authorize(self, resource)
    except HTTPException as error:
        code = getattr(error, "error_type", None) or "AccessDenied"
        if code == "AccessDenied" and _names_missing_key(self):
            return  # the handler answers NotFoundException

        message = getattr(error, "message", None) or str(error.description)
        name = "AccessDeniedException" if code == "AccessDenied" else code
        raise JsonRESTError(name, message) from None


from moto.core.exceptions import JsonRESTError  # noqa: E402

_original_authorize = kms_responses.KmsResponse._authenticate_and_authorize_normal_action
kms_responses.KmsResponse._authenticate_and_authorize_normal_action = _kms_authorize

# 7. No cryptography with a key that is not enabled.
from moto.core.exceptions import JsonRESTError  # noqa: E402

_CRYPTO = ("encrypt", "decrypt", "generate_data_key", "generate_data_key_without_plaintext", "re_encrypt")


def _guarded(name):
    original = getattr(kms_responses.KmsResponse, name)

    def guarded(self, *args, **kwargs):
        key = _kms_key(self)
        state = getattr(key, "key_state", "Enabled")
        if state == "Disabled":
            raise JsonRESTError("DisabledException", f"{key.arn} is disabled.")
        if state in ("PendingDeletion", "PendingReplicaDeletion"):
            raise JsonRESTError("KMSInvalidStateException", f"{key.arn} is pending deletion.")
        return original(self, *args, **kwargs)

    return guarded


for _name in _CRYPTO:
    if hasattr(kms_responses.KmsResponse, _name):
        setattr(kms_responses.KmsResponse, _name, _guarded(_name))

# 9. The STS calls AWS does not sign.
from moto.core.authorization import ActionAuthenticatorMixin as _Auth  # noqa: E402

_UNSIGNED_STS = ("AssumeRoleWithWebIdentity", "AssumeRoleWithSAML")
_original_authenticate = _Auth._authenticate_and_authorize_action


def _authenticate(self, iam_request_cls, resource="*"):
    if getattr(self, "service_name", None) == "sts" and self._get_action() in _UNSIGNED_STS:
        return None
    return _original_authenticate(self, iam_request_cls, resource)


_Auth._authenticate_and_authorize_action = _authenticate
# 10. CreateAccount's role can act in its account.
from moto.organizations import models as org_models  # noqa: E402

_original_fake_account_init = org_models.FakeAccount.__init__


def _fake_account_init(self, organization, **kwargs):
    _original_fake_account_init(self, organization, **kwargs)
    role_name = kwargs.get("RoleName", "OrganizationAccountAccessRole")
    iam_backends[self.id]["global"].attach_role_policy("arn:aws:iam::aws:policy/AdministratorAccess", role_name)


org_models.FakeAccount.__init__ = _fake_account_init

# 11. AssumeRole only of a role that exists and trusts the caller.
import re  # noqa: E402

from moto.sts import responses as sts_responses  # noqa: E402
from moto.sts.exceptions import STSClientError  # noqa: E402
from moto.iam.exceptions import NotFoundException as IAMNotFoundException  # noqa: E402

_original_assume_role = sts_responses.TokenResponse.assume_role


def _trusts(role, caller_account, caller_arn):
    try:
        doc = json.loads(role.assume_role_policy_document)
    except (TypeError, ValueError):
        return False
    for st in _as_list(doc.get("Statement", [])):
        if st.get("Effect") != "Allow" or "sts:AssumeRole" not in _as_list(st.get("Action", [])):
            continue
        principal = st.get("Principal", {})
        names = ["*"] if principal == "*" else _as_list(principal.get("AWS", [])) if isinstance(principal, dict) else []
        for name in names:
            if name in ("*", caller_account, caller_arn) or name == f"arn:aws:iam::{caller_account}:root":
                return True
    return False


def _caller_arn(self, caller_account):
    # The caller as a trust policy names it: a user's ARN, or an assumed role's role ARN.
    try:
        from moto.sts.models import sts_backends
        _, arn, _ = sts_backends[caller_account]["global"].get_caller_identity(self.get_access_key(), self.region)
    except Exception:  # noqa: BLE001 - unknown caller: only the account can match
        return None
    m = re.match(r"arn:([^:]+):sts::(\d+):assumed-role/([^/]+)/", arn)
    return f"arn:{m.group(1)}:iam::{m.group(2)}:role/{m.group(3)}" if m else arn


def _assume_role(self):
    role_arn = self._get_param("RoleArn") or ""
    caller_account = self.get_current_account()
    parts = role_arn.split(":")
    role = None
    if len(parts) >= 6 and parts[4]:
        try:
            role = iam_backends[parts[4]]["global"].get_role_by_arn(role_arn)
        except IAMNotFoundException:
            role = None
    if role is None or not _trusts(role, caller_account, _caller_arn(self, caller_account)):
        raise STSClientError("AccessDenied", f"User: account {caller_account} is not authorized to perform: sts:AssumeRole on resource: {role_arn}")
    return _original_assume_role(self)


sts_responses.TokenResponse.assume_role = _assume_role
# 12. AWS managed policies built once, copied into each new IAM backend.
from moto.iam import models as _iam_models  # noqa: E402

_managed_policies = {}
_original_init_aws_policies = _iam_models.IAMBackend._init_aws_policies


def _clone(obj):
    # Not copy.copy (10x slower here): about 12 IAM backends are made per reset.
    clone = object.__new__(type(obj))
    clone.__dict__.update(obj.__dict__)
    return clone


def _copy_policy(policy):
    clone = _clone(policy)
    clone.tags = dict(policy.tags)
    clone.versions = [_clone(v) for v in policy.versions]
    return clone


def _init_aws_policies(self):
    key = (self.account_id, self.partition)
    if key not in _managed_policies:
        _managed_policies[key] = _original_init_aws_policies(self)
    return [_copy_policy(p) for p in _managed_policies[key]]


_iam_models.IAMBackend._init_aws_policies = _init_aws_policies

from moto.server import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
