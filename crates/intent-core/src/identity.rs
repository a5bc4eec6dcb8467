//! Identity resolution: which ids are one person.
//!
//! Ids are nodes: a user id (identified) or an anonymous id (a device, a kiosk session). Events
//! link them: a call carrying both `userId` and `anonymousId` is an *implicit* link; `alias`
//! (`previousId` → `userId`) is an *explicit* one. Links are applied in canonical order (event
//! time, then message id), so the result does not depend on arrival order:
//! - an implicit link joins an anonymous id to a user, unless the anonymous id already belongs to
//!   a different user: two identified users are never merged implicitly (a shared device keeps the
//!   history with the first user it identified as);
//! - an explicit alias merges even two users; the alias's `userId` survives;
//! - every set of ids has at most one canonical id: its user id, or for an anonymous-only set its
//!   single anonymous id.
//!
//! `previousId` does not say whether it was a user or an anonymous id, so an alias links both
//! readings; the one never seen elsewhere is an empty node and changes nothing.

use crate::time::Ts;

/// A link between two id nodes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// Event time of the call that made it.
    pub ts: Ts,
    /// Its message id (orders links with equal times).
    pub message_id: String,
    /// The anonymous id (implicit) or previous id (explicit).
    pub from: u32,
    /// The user id.
    pub to: u32,
    /// `alias` (explicit) rather than a call carrying both ids.
    pub explicit: bool,
}

/// Resolves a set of nodes. `is_user(n)` says whether node `n` is a user id; `links` may be in any
/// order. Returns, for each node `0..n_nodes`, its canonical node.
pub fn resolve(n_nodes: usize, is_user: impl Fn(u32) -> bool, links: &[&Link]) -> Vec<u32> {
    let mut order: Vec<&Link> = links.to_vec();
    order.sort_by(|a, b| {
        a.ts.cmp(&b.ts)
            .then_with(|| a.message_id.cmp(&b.message_id))
    });
    let mut parent: Vec<u32> = (0..n_nodes as u32).collect();
    // The user id of each root's set, if it has one.
    let mut user: Vec<Option<u32>> = (0..n_nodes as u32)
        .map(|n| is_user(n).then_some(n))
        .collect();
    fn find(parent: &mut [u32], mut x: u32) -> u32 {
        while parent[x as usize] != x {
            let up = parent[parent[x as usize] as usize];
            parent[x as usize] = up;
            x = up;
        }
        x
    }
    for link in order {
        let a = find(&mut parent, link.from);
        let b = find(&mut parent, link.to);
        if a == b {
            continue;
        }
        let (ua, ub) = (user[a as usize], user[b as usize]);
        if !link.explicit && ua.is_some() && ub.is_some() && ua != ub {
            continue; // two identified users: never merged implicitly
        }
        // The `to` side's user survives; failing that, the other's.
        let survivor = ub.or(ua);
        parent[a as usize] = b;
        user[b as usize] = survivor;
    }
    (0..n_nodes as u32)
        .map(|n| {
            let r = find(&mut parent, n);
            user[r as usize].unwrap_or(r)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(ts: Ts, from: u32, to: u32, explicit: bool) -> Link {
        Link {
            ts,
            message_id: format!("m{ts}"),
            from,
            to,
            explicit,
        }
    }

    // Nodes: 0, 1 anonymous; 2, 3 users.
    fn users(n: u32) -> bool {
        n >= 2
    }

    #[test]
    fn anonymous_history_joins_the_user() {
        let l = [link(1, 0, 2, false)];
        let c = resolve(4, users, &l.iter().collect::<Vec<_>>());
        assert_eq!(c, vec![2, 1, 2, 3]);
    }

    #[test]
    fn a_shared_device_stays_with_its_first_user_whatever_the_arrival_order() {
        let l = [link(5, 0, 3, false), link(1, 0, 2, false)];
        for perm in [[0, 1], [1, 0]] {
            let links: Vec<&Link> = perm.iter().map(|&i| &l[i]).collect();
            assert_eq!(resolve(4, users, &links), vec![2, 1, 2, 3]);
        }
    }

    #[test]
    fn alias_merges_users_and_the_new_id_survives() {
        let l = [link(1, 0, 2, false), link(2, 2, 3, true)];
        let c = resolve(4, users, &l.iter().collect::<Vec<_>>());
        assert_eq!(c, vec![3, 1, 3, 3]);
    }
}
