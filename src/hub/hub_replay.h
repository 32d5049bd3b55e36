#ifndef HUB_REPLAY_H
#define HUB_REPLAY_H

/* Replays from the federation's history (hub_replay.c), with --nats-stream:
 * an eater that says "since": T in its hello (`eat --since`) is sent every
 * dumpling the JetStream stream holds from time T on, then the live
 * stream; one that says "latest": true is sent the stream's last dumpling
 * of each (kitchen, chef), after the notice of how many, then the live
 * stream.
 *
 * Each replay reads the stream through an ordered consumer of its own, on
 * a thread of its own, into a bounded queue the hub's thread writes to the
 * eater. The seam: once the stream has nothing more to give, the eater
 * joins fan-out, and the consumer goes on for a grace period, so that
 * what this hub took in before the join (and was still on its way into
 * the stream) comes from history. Then fan-out takes over; for a few
 * seconds what it holds is checked against each kitchen run's last seq
 * replayed, so that nothing comes twice. A dumpling with no seq is sent
 * from history only if the stream stored it before the join.
 *
 * Gaps at the NATS client (its pending limits) are not gaps here: the
 * consumer is made again from the last stream sequence taken. */

struct hub;
struct hub_conn;
struct hub_replay;

/* Start c's replay: "since" (seconds since the epoch) or, with since < 0,
 * the latest per subject. Returns -1, with *why a literal for the close
 * reason, if it cannot start. */
int hub_replay_start(struct hub *hub, struct hub_conn *c, double since, const char **why);

/* On the hub's thread, when another thread woke it: replays that moved on
 * are seen to (their eater joins fan-out, is asked to write, or is closed
 * if its replay failed). */
void hub_replay_poll(struct hub *hub);

/* From the eater's WRITEABLE: write what its replay queued. Returns 0
 * while the replay has the eater's turn, 1 once fan-out has it, -1 if a
 * write failed. */
int hub_replay_writable(struct hub *hub, struct hub_conn *c);

/* The eater left: its replay stops, and goes. */
void hub_replay_stop(struct hub *hub, struct hub_conn *c);

/* At shutdown: every replay is told to stop; once the NATS connection is
 * closed (which ends what their threads wait for), they are waited for,
 * up to seconds: -1 if some still run, and what they use must stay. */
void hub_replay_stop_all(struct hub *hub);
int hub_replay_wait_all(double seconds);

#endif
