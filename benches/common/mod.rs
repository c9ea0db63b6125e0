//! What the benchmarks share: their database (a fresh SQLite file, or a PostgreSQL database
//! with `TEST_DB=postgres`), environment knobs, a seeded random source and percentiles; the
//! bench IdP and its signed responses in [`saml`].
#![allow(dead_code, reason = "each benchmark uses a part of this module")]

pub mod saml;

use std::time::Duration;

use diesel::{Connection, PgConnection, RunQueryDsl};
use ssogate::storage::DbConnection;

pub const PG_DEFAULT: &str = "postgres://postgres@127.0.0.1:5432";

pub fn env_usize(name: &str, default: usize) -> usize {
    match std::env::var(name) {
        Ok(v) => v
            .parse()
            .unwrap_or_else(|_| panic!("{name} must be a positive integer, not `{v}`")),
        Err(_) => default,
    }
}

pub fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// splitmix64: a fixed seed, so every run makes the same choices.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// The `p`th percentile of sorted latencies, in milliseconds (nearest rank).
pub fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1].as_secs_f64() * 1000.0
}

/// Runs `sql` (ANALYZE, VACUUM …) on PostgreSQL; nothing on SQLite.
pub fn analyze(conn: &mut DbConnection, sql: &str) {
    if let DbConnection::Pg(c) = conn {
        diesel::sql_query(sql).execute(c).expect(sql);
    }
}

pub enum Db {
    Sqlite {
        url: String,
    },
    Postgres {
        url: String,
        base: String,
        name: String,
    },
}

impl Db {
    /// A new database (`tag` names the SQLite file).
    pub fn fresh(dir: &std::path::Path, tag: &str) -> Self {
        ssogate::storage::init_tls();
        match std::env::var("TEST_DB").as_deref() {
            Ok("postgres") => {
                let base = std::env::var("TEST_PG_URL").unwrap_or_else(|_| PG_DEFAULT.to_owned());
                let name = format!(
                    "ssogate_bench_{}",
                    hex::encode(ssogate::random::bytes::<8>())
                );
                let mut admin = PgConnection::establish(&format!("{base}/postgres"))
                    .unwrap_or_else(|e| panic!("PostgreSQL at {base} is unreachable ({e})"));
                diesel::sql_query(format!("CREATE DATABASE {name}"))
                    .execute(&mut admin)
                    .expect("create bench database");
                Db::Postgres {
                    url: format!("{base}/{name}"),
                    base,
                    name,
                }
            }
            Ok("sqlite") | Err(_) => Db::Sqlite {
                url: format!("sqlite://{}", dir.join(format!("{tag}.db")).display()),
            },
            Ok(other) => panic!("TEST_DB must be sqlite or postgres, not {other}"),
        }
    }

    /// The backend `fresh` picks.
    pub fn fresh_backend_name() -> &'static str {
        match std::env::var("TEST_DB").as_deref() {
            Ok("postgres") => "postgres",
            _ => "sqlite",
        }
    }

    pub fn url(&self) -> &str {
        match self {
            Db::Sqlite { url } | Db::Postgres { url, .. } => url,
        }
    }

    pub fn backend(&self) -> &'static str {
        match self {
            Db::Sqlite { .. } => "sqlite",
            Db::Postgres { .. } => "postgres",
        }
    }

    pub fn drop_database(&self) {
        if let Db::Postgres { base, name, .. } = self
            && let Ok(mut admin) = PgConnection::establish(&format!("{base}/postgres"))
        {
            let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .execute(&mut admin);
        }
    }
}

/// Generated people's given names.
pub const GIVEN: [&str; 16] = [
    "Ada",
    "Grace",
    "Alan",
    "Edsger",
    "Barbara",
    "Donald",
    "Frances",
    "John",
    "Katherine",
    "Ken",
    "Margaret",
    "Niklaus",
    "Radia",
    "Dennis",
    "Hedy",
    "Tim",
];
/// Generated people's family names (with a two-digit suffix, 1,000 distinct).
pub const FAMILY: [&str; 40] = [
    "Lovelace",
    "Hopper",
    "Turing",
    "Dijkstra",
    "Liskov",
    "Knuth",
    "Allen",
    "Backus",
    "Johnson",
    "Thompson",
    "Hamilton",
    "Wirth",
    "Perlman",
    "Ritchie",
    "Lamarr",
    "Berners",
    "Kay",
    "Codd",
    "Hoare",
    "Milner",
    "Lampson",
    "Engelbart",
    "Sutherland",
    "McCarthy",
    "Minsky",
    "Floyd",
    "Karp",
    "Cook",
    "Rivest",
    "Shamir",
    "Adleman",
    "Diffie",
    "Hellman",
    "Lamport",
    "Stonebraker",
    "Gray",
    "Bachman",
    "Cerf",
    "Kahn",
    "Naur",
];
/// Distinct family names: FAMILY × 25 suffixes.
pub const FAMILY_NAMES: usize = 1000;

/// User i's family name: spread over FAMILY_NAMES values, the same in every bench.
pub fn family_name(i: usize) -> String {
    let k = i.wrapping_mul(7919) % FAMILY_NAMES;
    format!("{}{:02}", FAMILY[k % FAMILY.len()], k / FAMILY.len())
}
