module gantry.dev/e2e/hub

go 1.24
