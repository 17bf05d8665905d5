"""Where tests leave what a person should look at (screenshots, rendered forms, printed tickets): under the
build folder, not the source tree (``build/`` is ignored by git and by the wheel)."""

from pathlib import Path

TEST_ARTIFACTS = Path(__file__).resolve().parents[1] / "build" / "test-artifacts"
