//! Default subnet layout, derived from the VPC size and the AZ count (never fixed offsets).
//!
//! The VPC is split in two halves. The first half is divided into one private block per AZ
//! (rounded up to a power of two), so nodes get the big blocks. The second half holds the public
//! subnets, a quarter of the private size each (but never smaller than /28). Pod subnets split
//! a secondary CIDR into one block per AZ.

use ipnet::Ipv4Net;

/// Smallest subnet AWS allows.
pub const MIN_SUBNET_PREFIX: u8 = 28;

/// `ceil(log2(n))`: how many prefix bits `n` equal slots need.
fn slot_bits(n: u8) -> u8 {
    let mut bits = 0;
    while (1u16 << bits) < u16::from(n) {
        bits += 1;
    }
    bits
}

/// `n` equal blocks of `net` split `2^slot_bits(n)` ways, or `None` if they'd be under /28.
pub fn split_per_az(net: Ipv4Net, n: u8) -> Option<Vec<Ipv4Net>> {
    let prefix = net.prefix_len() + slot_bits(n);
    if prefix > MIN_SUBNET_PREFIX {
        return None;
    }
    let blocks: Vec<Ipv4Net> = net.subnets(prefix).ok()?.take(usize::from(n)).collect();
    (blocks.len() == usize::from(n)).then_some(blocks)
}

/// The default (public, private) subnets for `n` AZs, one of each per AZ, in AZ order.
/// `None` if the VPC is too small (cannot happen for /16–/24 with 2–6 AZs).
pub fn layout(vpc: Ipv4Net, n: u8) -> Option<(Vec<Ipv4Net>, Vec<Ipv4Net>)> {
    let mut halves = vpc.subnets(vpc.prefix_len().checked_add(1)?).ok()?;
    let (private_half, public_half) = (halves.next()?, halves.next()?);
    let private = split_per_az(private_half, n)?;
    let private_prefix = private.first()?.prefix_len();
    let public_prefix = (private_prefix + 2).min(MIN_SUBNET_PREFIX);
    let public: Vec<Ipv4Net> = public_half
        .subnets(public_prefix)
        .ok()?
        .take(usize::from(n))
        .collect();
    (public.len() == usize::from(n)).then_some((public, private))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::domain::config::resolve::checks::overlaps;

    fn assert_valid(vpc: Ipv4Net, n: u8) {
        let (public, private) = layout(vpc, n).expect("layout fits");
        assert_eq!(public.len(), usize::from(n));
        assert_eq!(private.len(), usize::from(n));
        let all: Vec<Ipv4Net> = public.iter().chain(&private).copied().collect();
        for (i, a) in all.iter().enumerate() {
            assert!(vpc.contains(a), "{a} outside {vpc}");
            assert!(a.prefix_len() <= MIN_SUBNET_PREFIX, "{a} smaller than /28");
            for b in &all[i + 1..] {
                assert!(!overlaps(a, b), "{a} overlaps {b}");
            }
        }
        assert!(private[0].prefix_len() <= public[0].prefix_len());
    }

    #[test]
    fn layout_fits_every_vpc_size_and_az_count() {
        for prefix in [16u8, 20, 24] {
            for n in [2u8, 3, 6] {
                assert_valid(Ipv4Net::new([10, 0, 0, 0].into(), prefix).expect("net"), n);
            }
        }
    }

    #[test]
    fn layout_of_a_16_with_3_azs_gives_private_19_and_public_21() {
        let (public, private) = layout("10.0.0.0/16".parse().expect("net"), 3).expect("fits");
        assert_eq!(private[0].to_string(), "10.0.0.0/19");
        assert_eq!(private[2].to_string(), "10.0.64.0/19");
        assert_eq!(public[0].to_string(), "10.0.128.0/21");
        assert_eq!(public[2].to_string(), "10.0.144.0/21");
    }

    #[test]
    fn split_per_az_refuses_blocks_under_28() {
        assert!(split_per_az("100.64.0.0/28".parse().expect("net"), 2).is_none());
        assert_eq!(
            split_per_az("100.64.0.0/16".parse().expect("net"), 3)
                .expect("fits")
                .len(),
            3
        );
    }

    proptest! {
        #[test]
        fn any_vpc_16_to_24_with_2_to_6_azs_lays_out_valid_subnets(
            addr in any::<u32>(), prefix in 16u8..=24, n in 2u8..=6,
        ) {
            let vpc = Ipv4Net::new(addr.into(), prefix).expect("net").trunc();
            assert_valid(vpc, n);
        }
    }
}
