from mlstack.cli import main

main()
