from exptui.cli import main

main()
