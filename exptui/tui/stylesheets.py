"""The app's stylesheet files, as one absolute path each, shared by the App and the screens.

Textual reads a screen's `CSS_PATH` when the screen is first pushed unless the stylesheet already has a source of
that exact path string; reading it then re-parses every source (the App's file and every widget's DEFAULT_CSS,
without the parse cache) and restyles the whole dashboard behind it: ~0.1 s of CPU landing in whichever of `e`,
`p`, `d`, `Q` or the log view opened first. A relative `CSS_PATH` is resolved against each class's own module
(`screens/../styles/screens.tcss` is not `styles/screens.tcss`), so the App's copy never matched. The App now
reads `SCREENS_TCSS` with its own file at start-up (64 lines, part of the one parse it does anyway) and the screens
name the same path, so pushing one finds it there.
"""
from __future__ import annotations

from pathlib import Path

STYLES = Path(__file__).resolve().parent / "styles"
APP_TCSS = STYLES / "app.tcss"
SCREENS_TCSS = STYLES / "screens.tcss"   # loaded after app.tcss: its rules win ties, as when screens read it
