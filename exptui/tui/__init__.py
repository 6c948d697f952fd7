"""The Textual dashboard (`exptui` with no command). Imported only by `exptui ui`: the rest of exptui never
pays for Textual. Entry point: `exptui.tui.app.ExptuiApp(project, repo_root)`."""
