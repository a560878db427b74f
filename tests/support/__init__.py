"""Test support: the code tests share, in one place, imported as ``support.<module>``.

(``pythonpath = ["tests"]`` in pyproject.toml puts tests/ on the import path.) Test modules and
conftest files never import one another, nor load a file by path; a conftest holds fixtures and
hooks only, built from what is here (tests/test_repository.py checks all of this).

- ``waiting``    ``wait_until``: the one deadline-bound poll
- ``ports``      ``free_port``, ``free_port_block``, ``lease``: leased blocks below the
                 ephemeral range
- ``processes``  ``child_env``, ``jobslab`` (run the CLI), ``kill_group``
- ``stacks``     contract tests: ``Stack`` (stand-in) / ``DaprStack`` (real Dapr), ``stack``,
                 ``BACKENDS``, ``Sidecar``, ``RecordingApp``, ``error``
- ``fakes``      recording fake executables: ``Fakes`` (docker, kind, kubectl, helm, dapr,
                 daprd, scheduler; run as ``fake_tool.py``), ``SlimDapr``, ``install_dapr_cli``
- ``kernels``    ``serve()`` tests: ``make_app``, a notebook kernel that gets killed
- ``components`` Dapr Component YAML: ``CRON``, ``cron_component``
- ``schedules``  schedule-engine tests: ``next_fires``, ``job_fire_strings``, ``utc``
- ``lanes``      the fast lane's guard: a test not marked ``slow`` starts no process
- ``browser``    the browser tier: ``JupyterLab`` as ``make lab`` starts it, ``chrome``,
                 ``LabPage`` (what a learner does and sees), ``visit_all``, ``Seen``
"""
