from tcpcheck.cli import main

main()
