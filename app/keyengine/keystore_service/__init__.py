"""The companion as the keystore of XMTP apps: the xmtp-js Keystore API served on loopback.

``methods`` answers the 19 methods of xmtp-js 13.0.4's ``apiDefs`` (protobuf in, protobuf out)
with the keys a :data:`BundleProvider` hands it at each call, so a rotation done elsewhere in the
app is served at once; ``state`` keeps each account's conversations encrypted at rest; ``apps``
holds the per-app tokens and their use; ``server`` is the aiohttp front with the wire protocol's
refusals.  The keys never leave this process, except through ``getPrivateKeyBundle`` for an app
the user allowed to export.
"""

from app.keyengine.keystore_service.apps import AppRecord, AppRegistry, AppUsage
from app.keyengine.keystore_service.methods import EXPORT_METHOD, BundleProvider, KeystoreMethods
from app.keyengine.keystore_service.server import CallRecord, KeystoreServer

__all__ = [
    "EXPORT_METHOD",
    "AppRecord",
    "AppRegistry",
    "AppUsage",
    "BundleProvider",
    "CallRecord",
    "KeystoreMethods",
    "KeystoreServer",
]
