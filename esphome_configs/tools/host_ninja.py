"""Write a ninja file that builds ESPHome's generated host sources with g++ plus our test
driver (tests/host_main.cpp; it reads the vector files with Debian's cJSON) instead of the
host platform's main().

The generated tree comes from `esphome compile --only-generate tests/host_test.yaml`. Flags are
the ones ESPHome's own host toolchain uses (-std=gnu++20 -DUSE_HOST -fno-exceptions ...). The
host platform's core.cpp defines main(); it is compiled with -Dmain=esphome_host_main so that
the driver's main() runs the generated setup() and then the tests.
"""

from __future__ import annotations

from pathlib import Path
import sys


def main() -> int:
    gen, out_dir, tests = (Path(p).resolve() for p in sys.argv[1:4])
    src = gen / "src"
    obj = out_dir / "obj"
    flags = (
        "-std=gnu++20 -O1 -g -DUSE_HOST -DESPHOME_LOG_LEVEL=ESPHOME_LOG_LEVEL_DEBUG "
        "-fno-exceptions -Wall -Wno-sign-compare -Wno-unused-but-set-variable "
        "-Wno-unused-function -Wno-unused-variable"
    )
    lines = [
        "ninja_required_version = 1.5",
        f"flags = {flags}",
        f"includes = -I{src} -I{tests} -I/usr/include/cjson",
        "rule cxx",
        "  command = g++ -MMD -MF $out.d $includes $flags $extra -c $in -o $out",
        "  depfile = $out.d",
        "  deps = gcc",
        "  description = CXX $in",
        "rule link",
        "  command = g++ $in -o $out -lpthread -lcjson",
        "  description = LINK $out",
    ]
    objects = []
    sources = [*sorted(src.rglob("*.cpp")), tests / "host_main.cpp"]
    for source in sources:
        rel = source.relative_to(src) if source.is_relative_to(src) else Path("tests") / source.name
        target = obj / rel.with_suffix(".o")
        objects.append(str(target))
        lines.append(f"build {target}: cxx {source}")
        if source.as_posix().endswith("components/host/core.cpp"):
            lines.append("  extra = -Dmain=esphome_host_main")
    lines.append(f"build {out_dir / 'test_host'}: link {' '.join(objects)}")
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "build.ninja").write_text("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
