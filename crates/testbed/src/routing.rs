//! Automatic static routing: shortest paths in hops, every equal-cost next hop kept (ECMP).
//!
//! Pure graph code; [`crate::builder`] turns its answer into `ip route` lines.
//! Hosts never forward, so no path goes *through* a host: a host only ever starts a path
//! or sits on the destination link.

use std::collections::VecDeque;

/// The graph: which nodes forward, and each link's two end nodes (indices into `routers`).
pub(crate) struct Graph<'a> {
    /// `routers[n]` is true when node `n` forwards packets.
    pub routers: &'a [bool],
    /// `links[l]` is the pair of node indices at the ends of link `l`.
    pub links: &'a [(usize, usize)],
}

/// One automatic route of a node: to link `dest`'s subnet via the listed `(link, neighbour)`
/// pairs (more than one pair means equal-cost multipath).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AutoRoute {
    /// The destination link (its subnet).
    pub dest: usize,
    /// Next hops: the link to leave by and the neighbour node on it.
    pub via: Vec<(usize, usize)>,
}

impl Graph<'_> {
    fn neighbours(&self, node: usize) -> impl Iterator<Item = (usize, usize)> + '_ {
        self.links
            .iter()
            .enumerate()
            .filter_map(move |(l, &(a, b))| {
                if a == node {
                    Some((l, b))
                } else if b == node {
                    Some((l, a))
                } else {
                    None
                }
            })
    }

    /// Hops from every node to the subnet of link `dest` (`None` when unreachable).
    fn distances(&self, dest: usize) -> Vec<Option<u32>> {
        let mut dist = vec![None; self.routers.len()];
        let mut queue = VecDeque::new();
        let (a, b) = self.links[dest];
        for n in [a, b] {
            dist[n] = Some(0);
            queue.push_back(n);
        }
        while let Some(u) = queue.pop_front() {
            let du = dist[u].unwrap_or(0);
            // A host can be reached, but nothing is reached through it.
            if du > 0 && !self.routers[u] {
                continue;
            }
            for (_, m) in self.neighbours(u) {
                if dist[m].is_none() {
                    dist[m] = Some(du + 1);
                    queue.push_back(m);
                }
            }
        }
        dist
    }

    /// The automatic routes of `node`: one per link subnet it is not on and can reach.
    pub fn routes_of(&self, node: usize) -> Vec<AutoRoute> {
        let mut routes = Vec::new();
        for dest in 0..self.links.len() {
            let (a, b) = self.links[dest];
            if a == node || b == node {
                continue;
            }
            let dist = self.distances(dest);
            let Some(d) = dist[node] else { continue };
            let via: Vec<(usize, usize)> = self
                .neighbours(node)
                .filter(|&(_, m)| dist[m] == Some(d - 1) && (self.routers[m] || d == 1))
                .collect();
            if !via.is_empty() {
                routes.push(AutoRoute { dest, via });
            }
        }
        routes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // vp(0) - r1(1) - r2(2) - r3a(3) | r3b(4) - r4(5) - target(6)
    const ROUTERS: [bool; 7] = [false, true, true, true, true, true, false];
    const LINKS: [(usize, usize); 6] = [(0, 1), (1, 2), (2, 3), (2, 4), (3, 5), (4, 5)];

    fn with_target() -> Vec<(usize, usize)> {
        let mut links = LINKS.to_vec();
        links.push((5, 6));
        links
    }

    #[test]
    fn ecmp_where_paths_tie() {
        let links = with_target();
        let g = Graph {
            routers: &ROUTERS,
            links: &links,
        };
        let r2 = g.routes_of(2);
        // r2 -> target subnet (link 6): via r3a (link 2) and r3b (link 3).
        let to_target = r2.iter().find(|r| r.dest == 6).unwrap();
        assert_eq!(to_target.via, vec![(2, 3), (3, 4)]);
        // r2 -> r3a-r4 subnet (link 4): only via r3a, which is on it.
        let to_l4 = r2.iter().find(|r| r.dest == 4).unwrap();
        assert_eq!(to_l4.via, vec![(2, 3)]);
        // r4 -> vp subnet (link 0): both ways back.
        let r4 = g.routes_of(5);
        assert_eq!(
            r4.iter().find(|r| r.dest == 0).unwrap().via,
            vec![(4, 3), (5, 4)]
        );
        // connected subnets get no route
        assert!(r2.iter().all(|r| ![1, 2, 3].contains(&r.dest)));
    }

    #[test]
    fn nothing_goes_through_a_host() {
        // r1(0) - h(1) - r2(2): r1 cannot reach the h-r2 link... except that h is on it.
        let routers = [true, false, true, true];
        let links = [(0, 1), (1, 2), (2, 3)];
        let g = Graph {
            routers: &routers,
            links: &links,
        };
        let r1 = g.routes_of(0);
        // link 1 (h-r2) is reachable: h is on it (one hop).
        assert_eq!(r1.iter().find(|r| r.dest == 1).unwrap().via, vec![(0, 1)]);
        // link 2 (r2-r3) would need forwarding by h: no route.
        assert!(r1.iter().all(|r| r.dest != 2));
    }

    #[test]
    fn unreachable_gets_no_route() {
        let routers = [true, true, true, true];
        let links = [(0, 1), (2, 3)];
        let g = Graph {
            routers: &routers,
            links: &links,
        };
        assert!(g.routes_of(0).is_empty());
    }
}
