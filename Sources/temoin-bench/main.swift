#if canImport(Glibc)
import Glibc
#endif
import TemoinCLI

// Benchmarks live outside the shipped `temoin` binary; their figures go to Docs/performance.md.
exit(await CommandLineRunner.run(Bench.self))
