from selfheal.cli.main import main

main()
