"""The vault in keychain mode against a real gnome-keyring (Secret Service over D-Bus).

Each step runs in a child process with the private session's environment, so the test process
keeps its isolated keyring and another process has to read back what the first one stored.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from authenticator.store.paths import AppPaths
from authenticator.store.vault import Vault
from tests.store.keyring_session import private_keyring_session

REPO = Path(__file__).resolve().parents[2]

STEP = """
import sys
from pathlib import Path

import keyring

from authenticator.store.keychain import SystemKeychain
from authenticator.store.paths import AppPaths
from authenticator.store.vault import KdfParams, Vault
from tests.store.factories import make_record

step, home = sys.argv[1], Path(sys.argv[2])
paths = AppPaths.for_home(home, {})
chain = SystemKeychain(timeout=20)
print(type(keyring.get_keyring()).__module__, chain.available())
if step == "create":
    vault = Vault.create(paths, keychain=chain)
    vault.put_pairing(make_record("desk"))
elif step == "open":
    print(",".join(p.name for p in Vault.open(paths, keychain=chain).pairings))
elif step == "count":
    import secretstorage

    with secretstorage.dbus_init() as connection:
        collection = secretstorage.get_default_collection(connection)
        print(len(list(collection.search_items({"service": "com.encedo.Authenticator"}))))
elif step == "to-passphrase":
    vault = Vault.open(paths, keychain=chain)
    print(vault.use_passphrase("pw", chain, kdf=KdfParams.minimum()))
    print(Vault.open(paths, passphrase="pw").pairing("desk").name)
"""


def _step(env: dict[str, str], step: str, home: Path) -> list[str]:
    result = subprocess.run(
        [sys.executable, "-c", STEP, step, str(home)],
        env={**env, "PYTHONPATH": str(REPO)},
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


@pytest.mark.desktop
def test_vault_in_keychain_mode_with_gnome_keyring(tmp_path: Path) -> None:
    home = tmp_path / "authenticator-home"
    with private_keyring_session(tmp_path / "session") as env:
        assert _step(env, "create", home) == ["keyring.backends.SecretService", "True"]
        assert _step(env, "count", home)[-1] == "1"
        assert Vault.header_mode(AppPaths.for_home(home, {})) == "keychain"
        assert _step(env, "open", home)[-1] == "desk"  # read back by another process
        assert _step(env, "to-passphrase", home)[-2:] == ["True", "desk"]
        assert _step(env, "count", home)[-1] == "0"  # the keychain item was deleted
    assert Vault.header_mode(AppPaths.for_home(home, {})) == "passphrase"
