//! `probe tcp`: healthy when a TCP connection opens, as kubelet's tcpSocket probe.

use std::sync::Arc;

use super::{Check, Target};
use crate::{deadline::Deadline, env::Env, net, net::HostPort, outcome::Verdict, trace::Trace};

#[derive(Debug, clap::Args)]
#[command(after_long_help = crate::docs::environment(&[]))]
pub struct Args {
    /// Where to connect: HOST:PORT, IPv6 as [::1]:5432. Several are checked at once.
    #[arg(value_name = "HOST:PORT", required = true)]
    targets: Vec<HostPort>,
}

impl Args {
    pub fn targets(self, _: &dyn Env) -> anyhow::Result<Vec<Target>> {
        let targets = self.targets.into_iter();
        Ok(targets.map(|addr| Target { label: addr.to_string(), check: Arc::new(Tcp { addr }) }).collect())
    }
}

struct Tcp {
    addr: HostPort,
}

impl Check for Tcp {
    fn attempt(&self, deadline: Deadline, trace: &Trace) -> Verdict {
        trace.enter("resolve");
        let addrs = match net::resolve(&self.addr) {
            Ok(addrs) => addrs,
            Err(why) => return Verdict::unreachable(why),
        };
        trace.enter("connect");
        match net::connect(&addrs, deadline) {
            // Dropping the stream closes it with a FIN, which servers log as a normal disconnect.
            Ok(stream) if self.addr.is_ip() => {
                drop(stream);
                Verdict::healthy("connected")
            }
            Ok(stream) => match stream.peer_addr() {
                Ok(peer) => Verdict::healthy(format!("connected to {peer}")),
                Err(_) => Verdict::healthy("connected"),
            },
            Err(why) => Verdict::unreachable(why),
        }
    }
}
