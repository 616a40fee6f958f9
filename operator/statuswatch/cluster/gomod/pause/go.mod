module statuswatch.local/controlplane/pause

go 1.26.0
