#if canImport(Glibc)
import Glibc
#endif
import TemoinCLI

exit(await Temoin.runMain())
