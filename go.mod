module github.com/acsbridge/acsbridge

go 1.26
