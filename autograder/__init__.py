"""The engine of the course: grading, sandboxing, releasing, validating (see README.md)."""

import os
import sys

# The floor of pyproject.toml's requires-python, said plainly where pip did not check it (the Gradescope
# zip and the student bundle run the engine from their folder, with whatever Python COURSE_PYTHON names).
# Nothing above this line may need a newer Python than the one it rejects.
if sys.version_info < (3, 11):
    sys.exit(f"course: needs Python 3.11 or newer; this is Python {sys.version.split()[0]} ({sys.executable})")

# jsonschema (imported by nbformat) imports rfc3987_syntax when it is installed, and that module builds a
# parser for IRIs at import: 2.4 s of every `course` command, for a JSON-schema format that no notebook
# schema uses. Keep it out, unless the host program has loaded it already.
sys.modules.setdefault("rfc3987_syntax", None)

# the folder that holds this package: a checkout, a Gradescope zip or a student bundle
ENGINE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
