//! B3 at a fixed offered load: the same senders, each sending at a paced
//! (open-loop) rate instead of keeping a window full, so the ack latency is
//! the commit path's at that load, not Little's law over a full window.
//! Issue 17 asks for ack p99 ≤ 10 ms at 20,000 acks/s offered.

use crate::latency::{now_ns, stamped_body};
use crate::tally::Tally;
use crate::wire::{Client, Frame};
use anyhow::{Context, Result, bail};
use std::time::{Duration, Instant};

pub const OFFERED: &str = "b3_paced_offered_per_sec";
pub const ACKED: &str = "b3_paced_acked_per_sec";
pub const P50: &str = "b3_paced_ack_p50_ms";
pub const P99: &str = "b3_paced_ack_p99_ms";

/// Total sends per second offered across all senders.
pub const OFFERED_RATE: f64 = 20_000.0;

/// Sends `rate` messages/s into `room` until `until`, reading acks as they
/// come, then waits (at most 30 s) for the outstanding ones.
pub async fn paced(mut client: Client, room: String, tally: Tally, rate: f64, until: Instant) -> Result<Client> {
    let ws = client.ws().context("paced senders need a JSON peer")?;
    let started = Instant::now();
    let mut tick = tokio::time::interval(Duration::from_millis(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let (mut sent, mut acked) = (0u64, 0u64);
    let mut sending = true;
    let give_up = until + Duration::from_secs(30);
    while sending || acked < sent {
        tokio::select! {
            _ = tick.tick(), if sending => {
                if Instant::now() >= until {
                    sending = false;
                    continue;
                }
                let due = (started.elapsed().as_secs_f64() * rate) as u64;
                while sent < due {
                    sent += 1;
                    let frame = format!(
                        r#"{{"type":"send","room_id":"{room}","client_msg_id":"{}-{sent}","body":"{}"}}"#,
                        now_ns(),
                        stamped_body(64)
                    );
                    ws.writer.queue_text(frame.as_bytes());
                }
                ws.writer.flush().await?;
            }
            read = ws.reader.fill() => {
                if read? == 0 {
                    bail!("a paced sender's connection ended");
                }
                while let Some(ready) = ws.reader.advance()? {
                    match ws.reader.view(ready) {
                        Frame::Text(text) => {
                            tally.json_frame(text);
                            if crate::tally::is_ack(text) {
                                acked += 1;
                            } else if text.starts_with(br#"{"type":"error""#) {
                                bail!("server error: {}", String::from_utf8_lossy(text));
                            }
                        }
                        Frame::Close(code) => bail!("server closed a paced sender: {code:?}"),
                        Frame::Ended => bail!("a paced sender's connection ended"),
                    }
                }
                ws.reader.flush_pongs()?;
            }
            _ = tokio::time::sleep_until(give_up.into()) => bail!("{} of {sent} sends unacked 30 s after the load ended", sent - acked),
        }
    }
    Ok(client)
}
