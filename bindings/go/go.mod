module smolvm

go 1.19
