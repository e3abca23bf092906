# Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
"""Shared by the CLI checks: Ctrl-C a running xcel command at a given progress line."""
import os
import signal
import subprocess


def interrupt_at(cmd, marker):
    """Runs `cmd` with info logging, sends SIGINT when a stderr line contains `marker`, waits and checks the
    command exited 130 telling how to --resume. Returns the rest of its stderr."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=dict(os.environ, XCEL_LOG_LEVEL="info"))
    for line in proc.stderr:
        if marker in line:
            proc.send_signal(signal.SIGINT)
            break
    rest = proc.stderr.read()
    proc.wait()
    assert proc.returncode == 130, (proc.returncode, rest)
    assert "--resume" in rest, rest
    return rest
