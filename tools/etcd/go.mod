// Wrapper module that builds etcd from go.etcd.io/etcd/server/v3 (its main package is the
// module root). Debian's etcd 3.4 is older than recent kube-apiservers assume.
module landlord.dev/tools/etcd

go 1.26.0

require go.etcd.io/etcd/server/v3 v3.6.16
