#if canImport(Glibc)
import Glibc
#endif
import TemoinCLI

// Benchmarks live outside the shipped `temoin` binary; their figures go to Docs/performance.md.
let status = await CommandLineRunner.run(Bench.self)
ScratchFolders.removeAll()
exit(status)
