//! The packs shipped in the binary: one `include_str!` per file under
//! `rules/`, listed by hand so adding a pack is a visible change.

/// (file name, TOML text), in load order.
pub(super) const PACKS: &[(&str, &str)] = &[
    ("pm2.toml", include_str!("../../rules/pm2.toml")),
    ("node.toml", include_str!("../../rules/node.toml")),
    ("tws.toml", include_str!("../../rules/tws.toml")),
    ("python.toml", include_str!("../../rules/python.toml")),
    ("sqlite.toml", include_str!("../../rules/sqlite.toml")),
    ("postgres.toml", include_str!("../../rules/postgres.toml")),
    ("postgres-server.toml", include_str!("../../rules/postgres-server.toml")),
    ("redis.toml", include_str!("../../rules/redis.toml")),
    ("redis-server.toml", include_str!("../../rules/redis-server.toml")),
    ("caddy.toml", include_str!("../../rules/caddy.toml")),
    ("http.toml", include_str!("../../rules/http.toml")),
];
