"""No lab secret on a command line (where `ps` shows it): the database, cell and Keystone
steps of `lab up` pass passwords through stdin, config files or the environment."""

from __future__ import annotations

from ExtremeTesting.lab import lab

SECRETS = {"db": "Db-s3cret-9", "admin": "Adm-s3cret-9", "service": "Svc-s3cret-9",
           "bmc": "Bmc-s3cret-9", "switch": "Sw-s3cret-9", "rabbit": "Rb-s3cret-9",
           "erlang_cookie": "Ck-s3cret-9"}


def test_database_cell_and_keystone_steps_keep_secrets_off_argv(monkeypatch):
    seen: list[list[str]] = []

    class Done:
        stdout = "cell1"

    def fake_in_node(pid, cmd, **kwargs):
        seen.append(list(cmd))
        return Done()

    monkeypatch.setattr(lab, "in_node", fake_in_node)
    monkeypatch.setattr(lab, "node_pid", lambda name: 4242)
    monkeypatch.setattr(lab, "check_clusters", lambda: None)  # reads the members' status
    lab.prepare_database(SECRETS)
    lab.sync_databases(SECRETS)
    lab.bootstrap_keystone(SECRETS)
    assert any(cmd[:3] == ["nova-manage", "cell_v2", "map_cell0"] for cmd in seen), seen
    argv = " ".join(" ".join(cmd) for cmd in seen)
    for name, secret in SECRETS.items():
        assert secret not in argv, f"the {name} password is on a command line"
    assert "mysql+pymysql" not in argv
