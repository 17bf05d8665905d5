"""``madoguchi provision``: a site's CA, the broker's TLS certificate, one credential per device and its bundle.

From the site file and a device list (``devices.toml``), everything a site needs goes into one folder,
``OUT/<site id>/`` (``OUT`` defaults to ``./provision``)::

    ca/ca.key  ca/ca.crt                 the site CA (the key is 0600 and never leaves ca/)
    broker/    mosquitto.conf passwd acl ca.crt server.crt server.key (0600) provision.toml data/
    secrets/   <device>.password (0600)  every device's password, the queue service's included
    bundles/<device>/                    what goes on the device's boot partition:
               device.toml site.toml ca.crt <device>.password (0600) [forms/] [preentry.key (0600)]

Subcommands::

    init      --site S --devices D --broker-host H ...   CA, broker certificate, credentials, broker files, bundles
    add       --site S --devices D DEVICE...             a new device: credential, bundle, passwd and ACL
    replace   --site S --devices D DEVICE...             a new password for these devices (and a fresh bundle)
    retire    --site S DEVICE...                         credential removed from passwd and ACL, bundle deleted
    bundle    --site S --devices D [DEVICE...]           rebuild bundles (site or hardware changed), same passwords
    renew-broker-cert --site S [--broker-host H ...]     a new broker key and certificate from the same CA
    list      --site S [--devices D]                     what is provisioned; certificate expiry dates

Adding, replacing or retiring a device touches only that device's files, ``broker/passwd`` (only that
device's line) and ``broker/acl``. Secrets are created 0600 and never printed; files that already exist
keep their mode (and owner).
"""

from images.provision.bundles import appliance_site
from images.provision.cli import main
from images.provision.common import ProvisionError

__all__ = ["ProvisionError", "appliance_site", "main"]
