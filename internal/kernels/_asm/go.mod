module github.com/snnkit/snnkit/internal/kernels/_asm

go 1.26
