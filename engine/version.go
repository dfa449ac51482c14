package engine

// Version is the engine's version, recorded by the benchmarks next to the commit.
const Version = "0.1.0"
