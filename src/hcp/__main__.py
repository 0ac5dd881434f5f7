from hcp.cli import main

main()
