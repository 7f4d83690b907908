//! IPv4 CIDR blocks and the tenant VPC allocator.
//!
//! Allocation is deterministic for a tenant: its candidates start at a position derived from
//! its id and go round the pool, so a re-run proposes the same block. It is safe under
//! concurrency because the caller records the chosen block with a conditional write (one owner
//! per block) before any VPC exists, and asks for the next free candidate when it loses.

use crate::names::TenantId;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// An IPv4 network: an address whose host bits are zero, and a prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Ipv4Cidr {
    network: u32,
    prefix: u8,
}

impl Ipv4Cidr {
    /// A network from its parts; `None` when host bits are set or the prefix is over 32.
    pub fn new(network: u32, prefix: u8) -> Option<Ipv4Cidr> {
        (prefix <= 32 && network & !mask(prefix) == 0).then_some(Ipv4Cidr { network, prefix })
    }

    /// The prefix length.
    pub fn prefix(self) -> u8 {
        self.prefix
    }

    /// The first address, as a number.
    pub fn network(self) -> u32 {
        self.network
    }

    /// How many addresses the block holds.
    pub fn size(self) -> u64 {
        1u64 << (32 - u32::from(self.prefix))
    }

    fn last(self) -> u32 {
        self.network | !mask(self.prefix)
    }

    /// True when the blocks share an address.
    pub fn overlaps(self, other: Ipv4Cidr) -> bool {
        self.network <= other.last() && other.network <= self.last()
    }

    /// True when `other` lies inside this block.
    pub fn contains(self, other: Ipv4Cidr) -> bool {
        other.prefix >= self.prefix && other.network & mask(self.prefix) == self.network
    }

    /// The `index`-th block of length `prefix` inside this one.
    pub fn nth_subnet(self, prefix: u8, index: u64) -> Option<Ipv4Cidr> {
        if prefix < self.prefix || prefix > 32 {
            return None;
        }
        let count = 1u64 << (prefix - self.prefix);
        if index >= count {
            return None;
        }
        let step = 1u64 << (32 - u32::from(prefix));
        let network = u32::try_from(u64::from(self.network) + index * step).ok()?;
        Ipv4Cidr::new(network, prefix)
    }

    /// The blocks of length `prefix` that make up this one, in address order.
    pub fn split(self, prefix: u8) -> impl Iterator<Item = Ipv4Cidr> {
        (0..self.subnet_count(prefix)).filter_map(move |i| self.nth_subnet(prefix, i))
    }

    /// How many blocks of length `prefix` this one holds (0 when `prefix` is shorter).
    pub fn subnet_count(self, prefix: u8) -> u64 {
        if prefix < self.prefix || prefix > 32 {
            0
        } else {
            1u64 << (prefix - self.prefix)
        }
    }
}

fn mask(prefix: u8) -> u32 {
    if prefix == 0 {
        0
    } else {
        u32::MAX << (32 - u32::from(prefix))
    }
}

impl FromStr for Ipv4Cidr {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (addr, prefix) = s
            .split_once('/')
            .ok_or_else(|| format!("'{s}' is not a CIDR block (a.b.c.d/n)"))?;
        let addr: std::net::Ipv4Addr = addr
            .parse()
            .map_err(|_| format!("'{addr}' is not an IPv4 address"))?;
        let prefix: u8 = prefix
            .parse()
            .ok()
            .filter(|p| *p <= 32)
            .ok_or_else(|| format!("'{prefix}' is not a prefix length (0 to 32)"))?;
        Ipv4Cidr::new(u32::from(addr), prefix).ok_or_else(|| {
            format!(
                "'{s}' has host bits set: the network address of /{prefix} is {}",
                {
                    let n = u32::from(addr) & mask(prefix);
                    std::net::Ipv4Addr::from(n)
                }
            )
        })
    }
}

impl TryFrom<String> for Ipv4Cidr {
    type Error = String;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<Ipv4Cidr> for String {
    fn from(c: Ipv4Cidr) -> String {
        c.to_string()
    }
}

impl fmt::Display for Ipv4Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}/{}",
            std::net::Ipv4Addr::from(self.network),
            self.prefix
        )
    }
}

/// The pool tenant VPCs are carved from, and the sizes a tenant may ask for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CidrPool {
    /// The whole pool, for example `10.64.0.0/12`.
    pub cidr: Ipv4Cidr,
    /// The prefix length a tenant gets when it does not ask.
    pub default_prefix_length: u8,
    /// The largest network a tenant may ask for (smallest prefix length).
    pub min_prefix_length: u8,
    /// The smallest network a tenant may ask for (largest prefix length).
    pub max_prefix_length: u8,
}

/// FNV-1a, 64-bit: a fixed, documented hash, so a tenant's starting block never changes
/// between releases (std's hasher makes no such promise).
fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

impl CidrPool {
    /// Checks the pool's own consistency.
    pub fn check(&self) -> Result<(), String> {
        let p = self.cidr.prefix();
        if !(self.min_prefix_length <= self.default_prefix_length
            && self.default_prefix_length <= self.max_prefix_length)
        {
            return Err(
                "minPrefixLength <= defaultPrefixLength <= maxPrefixLength must hold".into(),
            );
        }
        if self.min_prefix_length < p || self.min_prefix_length < 16 {
            return Err(format!(
                "minPrefixLength must be at least the pool's /{p} and at least /16 (the largest VPC AWS allows)"
            ));
        }
        if self.max_prefix_length > 28 {
            return Err("maxPrefixLength must be at most /28 (the smallest VPC AWS allows)".into());
        }
        Ok(())
    }

    /// The blocks of length `prefix` a tenant may get, in its deterministic order.
    pub fn candidates(&self, tenant: &TenantId, prefix: u8) -> impl Iterator<Item = Ipv4Cidr> + '_ {
        let count = self.cidr.subnet_count(prefix);
        let start = if count == 0 {
            0
        } else {
            fnv1a(tenant.as_str().as_bytes()) % count
        };
        (0..count).filter_map(move |i| self.cidr.nth_subnet(prefix, (start + i) % count))
    }

    /// The pool's free space, in blocks of the default size: the addresses no claim in
    /// `taken` holds (claims never overlap), divided by a default block's. Fragmentation can
    /// leave fewer blocks claimable; the alarm on this warns well before either runs out.
    pub fn free_blocks(&self, taken: &[Ipv4Cidr]) -> u64 {
        let held: u64 = taken
            .iter()
            .filter(|t| self.cidr.contains(**t))
            .map(|t| t.size())
            .sum();
        let block = 1_u64 << (32 - u32::from(self.default_prefix_length));
        self.cidr.size().saturating_sub(held) / block
    }

    /// The tenant's first candidate that overlaps none of `taken`; `None` when the pool is full.
    pub fn first_free(
        &self,
        tenant: &TenantId,
        prefix: u8,
        taken: &[Ipv4Cidr],
    ) -> Option<Ipv4Cidr> {
        self.candidates(tenant, prefix)
            .find(|c| taken.iter().all(|t| !t.overlaps(*c)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cidr(s: &str) -> Ipv4Cidr {
        s.parse().expect("valid CIDR")
    }

    fn pool() -> CidrPool {
        CidrPool {
            cidr: cidr("10.64.0.0/12"),
            default_prefix_length: 20,
            min_prefix_length: 16,
            max_prefix_length: 24,
        }
    }

    fn tenant(s: &str) -> TenantId {
        TenantId::parse(s).expect("valid id")
    }

    #[test]
    fn parsing_and_display() {
        assert_eq!(cidr("10.64.0.0/12").to_string(), "10.64.0.0/12");
        assert_eq!(cidr("0.0.0.0/0").size(), 1 << 32);
        for bad in [
            "10.64.0.1/12",
            "10.64.0.0",
            "10.64.0.0/33",
            "300.0.0.0/8",
            "a/8",
        ] {
            assert!(bad.parse::<Ipv4Cidr>().is_err(), "{bad}");
        }
        let err = "10.64.0.1/12".parse::<Ipv4Cidr>().expect_err("host bits");
        assert!(err.contains("10.64.0.0"), "{err}");
    }

    #[test]
    fn overlap_and_containment() {
        let (a, b, c) = (
            cidr("10.0.0.0/16"),
            cidr("10.0.128.0/17"),
            cidr("10.1.0.0/16"),
        );
        assert!(a.overlaps(b) && b.overlaps(a) && a.contains(b) && !b.contains(a));
        assert!(!a.overlaps(c) && !a.contains(c));
        assert_eq!(a.nth_subnet(18, 3), Some(cidr("10.0.192.0/18")));
        assert_eq!(a.nth_subnet(18, 4), None);
        assert_eq!(a.subnet_count(24), 256);
    }

    #[test]
    fn candidates_are_deterministic_and_cover_the_pool() {
        let p = pool();
        let t = tenant("payments");
        let first: Vec<Ipv4Cidr> = p.candidates(&t, 20).take(3).collect();
        assert_eq!(first, p.candidates(&t, 20).take(3).collect::<Vec<_>>());
        let all: std::collections::BTreeSet<Ipv4Cidr> = p.candidates(&t, 20).collect();
        assert_eq!(
            all.len(),
            256,
            "a /12 holds 256 /20 blocks, each proposed once"
        );
        assert!(all.iter().all(|c| p.cidr.contains(*c)));
        assert_ne!(
            p.candidates(&tenant("search"), 20).next(),
            p.candidates(&t, 20).next(),
            "tenants start apart"
        );
    }

    #[test]
    fn free_blocks_count_the_addresses_no_claim_holds_in_default_blocks() {
        let p = pool();
        assert_eq!(p.free_blocks(&[]), 256, "a /12 holds 256 /20s");
        let taken = [
            cidr("10.64.0.0/20"),
            cidr("10.64.16.0/24"),
            cidr("10.0.0.0/20"),
        ];
        // A /20 and a /24 of the pool are held (the /24 breaks one more /20); 10.0.0.0/20 is
        // outside it.
        assert_eq!(p.free_blocks(&taken), 254);
    }

    #[test]
    fn first_free_skips_taken_blocks_and_reports_a_full_pool() {
        let p = CidrPool {
            cidr: cidr("10.0.0.0/22"),
            default_prefix_length: 24,
            min_prefix_length: 22,
            max_prefix_length: 24,
        };
        let mut taken = Vec::new();
        for i in 0..4 {
            let t = tenant(&format!("t{i}"));
            let got = p.first_free(&t, 24, &taken).expect("room left");
            assert!(taken.iter().all(|x: &Ipv4Cidr| !x.overlaps(got)));
            taken.push(got);
        }
        assert_eq!(p.first_free(&tenant("t9"), 24, &taken), None);
        // A larger block that overlaps a taken one is never proposed.
        assert_eq!(
            p.first_free(&tenant("t9"), 23, &taken[..1])
                .map(|c| c.overlaps(taken[0])),
            Some(false)
        );
    }

    #[test]
    fn pool_consistency() {
        assert!(pool().check().is_ok());
        let mut p = pool();
        p.max_prefix_length = 30;
        assert!(p.check().is_err());
        let mut p = pool();
        p.default_prefix_length = 25;
        assert!(p.check().is_err());
    }
}
