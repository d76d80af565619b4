"""PlatformIO pre-build script: generate the core's schema and pin tables (same as CMake)."""

import os
import subprocess

Import("env")  # noqa: F821  (provided by PlatformIO/SCons)

project = env.subst("$PROJECT_DIR")  # noqa: F821
subprocess.check_call(
    [
        env.subst("$PYTHONEXE"),  # noqa: F821
        os.path.join(project, "tools", "gen_tables.py"),
        os.path.join(project, ".."),
        os.path.join(project, "lib", "automationone_core", "src", "a1", "generated"),
    ]
)
