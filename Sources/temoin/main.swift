import TemoinCLI
