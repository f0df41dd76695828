//! The decoder's state machine: follows authentications and EV2 secure messaging passively.
//!
//! States: no session; a followed session (session keys, TI, CmdCtr known); a session that
//! exists but is not followed (legacy or LRP authentication, unknown key). A pending
//! authentication waits between the two halves of AuthenticateEV2First/NonFirst.
//!
//! Counting follows the card (NT4H2421Gx §9.1.2, AN12196 T22-T27): every native command that ends
//! in `9100`/`910C` while authenticated advances CmdCtr by one, Plain ones included; a chained
//! command counts once; ISO commands and AuthenticateEV2NonFirst do not count. An error status,
//! SelectApplication, and ChangeKey of the authenticated key end the session.
//!
//! The decoder is an observer with the key: it replays both sides with desfire-core's one EV2
//! implementation. It opens the reader's answer as the card does and the card's confirmation as
//! the reader does ([`desfire_core::crypto::ev2::handshake`]), and opens commands and responses
//! with the same [`SecureChannel`] functions the card and the reader use. MACs are verified (in
//! constant time) before anything is decrypted, and data whose MAC did not verify is never
//! reported. A response without a MAC (an error status, the bare `9100` of ChangeKey of the
//! authenticated key) is never reported as MAC-verified.

use std::collections::BTreeMap;

use desfire_core::crypto::aes;
use desfire_core::crypto::ev2::handshake;
use desfire_core::crypto::ev2::{CmdCtr, MAC_LEN, SecureChannel, SessionKeys, Ti};
use desfire_core::wire::{AccessRights, CommMode, Ins, Status};

use super::assemble::{RawExchange, SW_ADDITIONAL_FRAME};
use super::commands::{self, FileAccess, ModeRule};
use super::error::ExchangeError;
use super::report::{ExchangeReport, MacVerdict, SessionOrigin, SessionReport};
use crate::args::{KeySpec, SessionSpec};

/// How far ahead of the expected CmdCtr the decoder looks when no MAC verifies.
const RESYNC_WINDOW: usize = 8;

/// What the decoder may use: keys to try, and optionally a session the trace starts in.
#[derive(Debug, Clone, Default)]
pub struct DecodeConfig {
    /// Keys to try for authentications, specific key numbers first.
    pub keys: Vec<KeySpec>,
    /// Start inside this session (for excerpts that begin after the authentication).
    pub start: Option<SessionSpec>,
}

/// A followed session.
#[derive(Debug)]
struct Followed {
    channel: SecureChannel,
    key_no: u8,
    session: usize,
}

#[derive(Debug)]
enum Auth {
    None,
    // Boxed: two expanded AES key schedules make it far larger than the other states.
    Followed(Box<Followed>),
    /// Authenticated with something the decoder cannot follow.
    Unfollowed,
}

/// Between the two halves of an authentication.
#[derive(Debug)]
struct Pending {
    ins: u8,
    key_no: u8,
    kind: PendingKind,
}

#[derive(Debug)]
enum PendingKind {
    Ev2First {
        enc_rnd_b: [u8; 16],
    },
    Ev2NonFirst {
        enc_rnd_b: [u8; 16],
        ti: Ti,
        cmd_ctr: CmdCtr,
    },
    NotFollowed,
}

/// What GetFileSettings told about a file.
#[derive(Debug, Clone, Copy)]
struct FileInfo {
    mode: CommMode,
    rights: AccessRights,
}

impl FileInfo {
    /// The comm mode a command using `access` runs in: Plain when that access is free
    /// (access right `E`), the file's mode otherwise.
    fn mode_for(self, access: FileAccess) -> CommMode {
        use desfire_core::wire::Access::Free;
        let free = match access {
            FileAccess::Read => self.rights.read == Free || self.rights.read_write == Free,
            FileAccess::Write => self.rights.write == Free || self.rights.read_write == Free,
        };
        if free { CommMode::Plain } else { self.mode }
    }
}

/// The passive follower of one trace.
#[derive(Debug)]
pub(super) struct Decoder<'c> {
    keys: &'c [KeySpec],
    auth: Auth,
    pending: Option<Pending>,
    files: BTreeMap<u8, FileInfo>,
    pub(super) sessions: Vec<SessionReport>,
}

fn native_status([sw1, sw2]: [u8; 2]) -> Option<Status> {
    (sw1 == 0x91).then_some(Status(sw2))
}

/// The name of status word `sw` answering a command of class `cla`: DESFire's status for a
/// native-wrapped command (CLA 90, SW1 91), the ISO/IEC 7816-4 name otherwise. The audit report
/// names responses with it too.
pub(crate) fn status_name(cla: u8, sw: [u8; 2]) -> String {
    let name = match (cla, native_status(sw)) {
        (0x90, Some(s)) => s.name(),
        _ => commands::iso_status_name(sw),
    };
    name.unwrap_or("unknown status").to_owned()
}

fn command_name(cla: u8, ins: u8) -> String {
    match cla {
        0x90 => Ins(ins).to_string(),
        0x00 => commands::iso_command_name(ins)
            .map_or_else(|| format!("ISO command {ins:02X}"), str::to_owned),
        _ => format!("CLA {cla:02X} INS {ins:02X}"),
    }
}

/// One secured exchange as an observer with the key sees it: the reader's command body and the
/// card's response, each opened with the function its receiver uses (the card's
/// [`SecureChannel::open_command`], the reader's [`SecureChannel::open_response`]).
struct Observed<'a> {
    ins: u8,
    /// Command body: header, data, MACt.
    body: &'a [u8],
    /// Response data: data, MACt.
    resp: &'a [u8],
    status: Option<Status>,
    /// Length of the command header (in clear), at most the body without its MAC.
    header_len: usize,
    /// A response MAC exists: the status is OK and it is not the bare 9100 of ChangeKey of the
    /// authenticated key. Error statuses carry no MAC.
    resp_mac_expected: bool,
}

/// Which MACs verified, and at which CmdCtr if not the expected one.
struct MacChecks {
    cmd: bool,
    resp: bool,
    /// `(expected, found)` when the MACs verified only further on.
    skipped: Option<(CmdCtr, CmdCtr)>,
}

impl Observed<'_> {
    /// The command MAC and the response MAC under `ch`, as the card and the reader check them.
    fn macs_at(&self, ch: &SecureChannel) -> (bool, bool) {
        let cmd = ch
            .open_command(self.ins, &mut self.body.to_vec(), 0, CommMode::Mac)
            .is_ok();
        let resp = self.resp_mac_expected
            && self.status.is_some_and(|s| {
                ch.open_response(s.0, &mut self.resp.to_vec(), CommMode::Mac)
                    .is_ok()
            });
        (cmd, resp)
    }

    /// Checks both MACs at the channel's counter and, if neither verifies, a few counters
    /// ahead: exchanges missing from the trace leave the counter behind the card's. The channel
    /// moves to the counter where they verified.
    fn check_macs(&self, channel: &mut SecureChannel) -> MacChecks {
        let (cmd, resp) = self.macs_at(channel);
        let mut checks = MacChecks {
            cmd,
            resp,
            skipped: None,
        };
        if cmd || resp || (self.body.len() < MAC_LEN && self.resp.len() < MAC_LEN) {
            return checks;
        }
        let expected = channel.cmd_ctr;
        let mut probe = channel.clone();
        for _ in 0..RESYNC_WINDOW {
            let Some(next) = probe.cmd_ctr.next() else {
                break;
            };
            probe.cmd_ctr = next;
            let (cmd, resp) = self.macs_at(&probe);
            if cmd || resp {
                checks = MacChecks {
                    cmd,
                    resp,
                    skipped: Some((expected, next)),
                };
                channel.cmd_ctr = next;
                break;
            }
        }
        checks
    }

    /// The command data of a Full-mode body, opened as the card opens it. `None` if there is no
    /// ciphertext, it is not whole blocks, or the padding is malformed.
    fn full_command_data(&self, ch: &SecureChannel) -> Option<Vec<u8>> {
        if self.body.len() <= self.header_len.saturating_add(MAC_LEN) {
            return None;
        }
        let mut buf = self.body.to_vec();
        let end = ch
            .open_command(self.ins, &mut buf, self.header_len, CommMode::Full)
            .ok()?;
        buf.get(self.header_len..end).map(<[u8]>::to_vec)
    }

    /// The data of a Full-mode response, opened as the reader opens it. `None` if there is no
    /// ciphertext, it is not whole blocks, or the padding is malformed.
    fn full_response_data(&self, ch: &SecureChannel) -> Option<Vec<u8>> {
        let status = self.status?;
        if self.resp.len() <= MAC_LEN {
            return None;
        }
        let mut buf = self.resp.to_vec();
        let opened = ch.open_response(status.0, &mut buf, CommMode::Full).ok()?;
        buf.truncate(opened.len);
        Some(buf)
    }

    /// The command body without its MAC (the whole body if it is shorter than a MAC).
    fn macced(&self) -> &[u8] {
        self.body
            .len()
            .checked_sub(MAC_LEN)
            .and_then(|n| self.body.get(..n))
            .unwrap_or(self.body)
    }

    /// The response data without its MAC (all of it if it is shorter than a MAC).
    fn resp_payload(&self) -> &[u8] {
        self.resp
            .len()
            .checked_sub(MAC_LEN)
            .and_then(|n| self.resp.get(..n))
            .unwrap_or(self.resp)
    }
}

/// `ok` when every MAC that exists verified, `none` when none is involved (or the response has
/// none, as the bare 9100 of ChangeKey of the authenticated key), `bad` otherwise.
fn mac_verdict(
    macs: &MacChecks,
    mode: CommMode,
    own_key_change: bool,
    resp_mac_expected: bool,
) -> MacVerdict {
    if own_key_change && macs.cmd {
        // The command MAC verified; the bare 9100 that answers it has no MAC to verify.
        MacVerdict::None
    } else if macs.cmd || macs.resp {
        if macs.cmd && (macs.resp || !resp_mac_expected) {
            MacVerdict::Ok
        } else {
            MacVerdict::Bad
        }
    } else if mode == CommMode::Plain {
        MacVerdict::None
    } else {
        MacVerdict::Bad
    }
}

/// Header and data of a MAC or Full exchange: only what verified is shown, decrypted in Full mode.
fn report_secured_data(
    seen: &Observed<'_>,
    macs: &MacChecks,
    full: bool,
    ch: &SecureChannel,
    r: &mut ExchangeReport,
) {
    let (header, cmd_payload) = seen.macced().split_at(seen.header_len);
    let resp_payload = seen.resp_payload();
    r.header = Some(header.to_vec());
    r.plain = if !macs.cmd {
        None
    } else if full && !cmd_payload.is_empty() {
        let p = seen.full_command_data(ch);
        if p.is_none() {
            r.error.get_or_insert(ExchangeError::CommandPadding);
        }
        p
    } else {
        Some(cmd_payload.to_vec())
    };
    r.resp_plain = if !seen.resp_mac_expected {
        Some(seen.resp.to_vec())
    } else if !macs.resp {
        None
    } else if full && !resp_payload.is_empty() {
        let p = seen.full_response_data(ch);
        if p.is_none() {
            r.error.get_or_insert(ExchangeError::ResponsePadding);
        }
        p
    } else {
        Some(resp_payload.to_vec())
    };
}

impl<'c> Decoder<'c> {
    pub(super) fn new(config: &'c DecodeConfig) -> Self {
        let mut d = Self {
            keys: &config.keys,
            auth: Auth::None,
            pending: None,
            files: BTreeMap::new(),
            sessions: Vec::new(),
        };
        if let Some(s) = &config.start {
            d.open_session(
                s.key_no.value(),
                &s.keys,
                s.ti,
                s.cmd_ctr,
                SessionOrigin::Given,
                None,
            );
        }
        d
    }

    fn open_session(
        &mut self,
        key_no: u8,
        keys: &SessionKeys,
        ti: Ti,
        cmd_ctr: CmdCtr,
        origin: SessionOrigin,
        exchange: Option<usize>,
    ) -> usize {
        let session = self.sessions.len();
        self.sessions.push(SessionReport {
            key_no,
            ti,
            keys: keys.clone(),
            cmd_ctr,
            origin,
            exchange,
        });
        self.auth = Auth::Followed(Box::new(Followed {
            channel: SecureChannel::new(keys, ti, cmd_ctr),
            key_no,
            session,
        }));
        session
    }

    /// Decodes one exchange and moves the state on.
    pub(super) fn exchange(&mut self, ex: RawExchange, index: usize) -> ExchangeReport {
        let mut r = ExchangeReport {
            index,
            lines: ex.lines(),
            frames: Vec::new(),
            cla: ex.cla,
            ins: ex.ins,
            name: command_name(ex.cla, ex.ins),
            sw: ex.sw,
            status_name: ex.sw.map(|sw| status_name(ex.cla, sw)),
            comm_mode: CommMode::Plain,
            mac: MacVerdict::None,
            cmd_ctr: None,
            session: None,
            header: None,
            plain: None,
            resp_plain: None,
            plain_is_key_data: false,
            events: Vec::new(),
            error: None,
        };
        let pending = self.pending.take();
        match (ex.cla, pending) {
            (0x90, Some(p)) if ex.ins == commands::INS_ADDITIONAL_FRAME => {
                self.authentication_part2(p, &ex, &mut r);
            }
            (cla, pending) => {
                if pending.is_some() {
                    r.events
                        .push("the authentication before was not completed".to_owned());
                }
                match cla {
                    0x90 => self.native(&ex, &mut r),
                    0x00 => self.iso(&ex, &mut r),
                    other => {
                        self.unsecured_data(&ex, &mut r);
                        r.error = Some(ExchangeError::UnsupportedClass(other));
                    }
                }
            }
        }
        r.frames = ex.frames;
        r
    }

    fn native(&mut self, ex: &RawExchange, r: &mut ExchangeReport) {
        if commands::is_authentication(ex.ins) {
            self.authentication_part1(ex, r);
            return;
        }
        let auth = std::mem::replace(&mut self.auth, Auth::None);
        if ex.ins == commands::INS_ADDITIONAL_FRAME {
            self.unsecured_data(ex, r);
            r.error = Some(ExchangeError::StrayAdditionalFrame);
            if let Auth::Followed(_) = auth {
                r.events
                    .push("session no longer followed: frames are missing".to_owned());
            } else {
                self.auth = auth;
            }
            return;
        }
        self.auth = match auth {
            Auth::Followed(f) => self.secured(f, ex, r),
            Auth::Unfollowed => self.unauthenticated(ex, r, true),
            Auth::None => self.unauthenticated(ex, r, false),
        };
    }

    fn iso(&mut self, ex: &RawExchange, r: &mut ExchangeReport) {
        r.plain = Some(ex.cmd_data.clone());
        r.resp_plain = Some(ex.resp_data.clone());
        r.error = ex.incomplete.map(ExchangeError::from);
        if let Auth::Followed(f) = &self.auth {
            r.session = Some(f.session);
            r.events
                .push("ISO command: passed through, CmdCtr unchanged".to_owned());
        }
    }

    /// Header and data in clear, as sent: outside sessions and for frames nobody can verify.
    fn unsecured_data(&self, ex: &RawExchange, r: &mut ExchangeReport) {
        let (header, data) = ex
            .cmd_data
            .split_at(commands::header_len(ex.ins).min(ex.cmd_data.len()));
        r.header = Some(header.to_vec());
        r.plain = Some(data.to_vec());
        r.resp_plain = Some(ex.resp_data.clone());
    }

    /// A native command outside a followed session.
    fn unauthenticated(
        &mut self,
        ex: &RawExchange,
        r: &mut ExchangeReport,
        unfollowed: bool,
    ) -> Auth {
        self.unsecured_data(ex, r);
        r.error = ex.incomplete.map(ExchangeError::from);
        let status = ex.sw.and_then(native_status);
        if unfollowed {
            r.events.push(
                "inside a session the decoder does not follow: MACs and encryption not checked"
                    .to_owned(),
            );
        } else {
            self.learn_file_settings(ex, r);
        }
        match status {
            Some(s)
                if commands::completes(ex.ins, s) && ex.ins == commands::INS_SELECT_APPLICATION =>
            {
                self.files.clear();
                if unfollowed {
                    r.events.push("session ends: SelectApplication".to_owned());
                }
                Auth::None
            }
            Some(s)
                if unfollowed
                    && !commands::completes(ex.ins, s)
                    && s != Status::ADDITIONAL_FRAME =>
            {
                r.events
                    .push(format!("session ends: card status 91{:02X}", s.0));
                Auth::None
            }
            _ if unfollowed => Auth::Unfollowed,
            _ => Auth::None,
        }
    }

    /// A native command inside a followed session: infer the comm mode from the MACs, verify,
    /// decrypt, count.
    fn secured(&mut self, mut f: Box<Followed>, ex: &RawExchange, r: &mut ExchangeReport) -> Auth {
        r.session = Some(f.session);
        r.cmd_ctr = Some(f.channel.cmd_ctr);
        if let Some(incomplete) = ex.incomplete {
            self.unsecured_data(ex, r);
            r.error = Some(incomplete.into());
            r.events.push(
                "session no longer followed: the exchange is incomplete, so whether the card counted it is unknown"
                    .to_owned(),
            );
            return Auth::None;
        }
        let ins = ex.ins;
        let body = ex.cmd_data.as_slice();
        let resp = ex.resp_data.as_slice();
        let status = ex.sw.and_then(native_status);
        let status_ok = status.is_some_and(|s| commands::completes(ins, s));
        let hdr = commands::header_len(ins);

        // ChangeKey of the authenticated key: bare 9100, no response MAC, session over.
        let own_key_change = ins == commands::INS_CHANGE_KEY
            && status == Some(Status::OPERATION_OK)
            && resp.is_empty()
            && body.first().is_some_and(|k| k & 0x0F == f.key_no & 0x0F);
        let mut seen = Observed {
            ins,
            body,
            resp,
            status,
            header_len: 0,
            resp_mac_expected: status_ok && !own_key_change,
        };
        seen.header_len = hdr.min(seen.macced().len());
        let macs = seen.check_macs(&mut f.channel);
        if let Some((expected, found)) = macs.skipped {
            r.cmd_ctr = Some(found);
            r.events.push(format!(
                "CmdCtr resynchronised from {} to {}: exchanges are missing from the trace",
                expected.0, found.0
            ));
        }
        let ch = &f.channel;
        let mode = self.comm_mode(&seen, &macs, ch);
        r.comm_mode = mode;
        r.plain_is_key_data = matches!(ins, 0xC4 | 0xC6);
        r.mac = mac_verdict(&macs, mode, own_key_change, seen.resp_mac_expected);
        if let Some((expected, found)) = macs.skipped {
            r.error = Some(ExchangeError::CounterSkipped {
                expected: expected.0,
                found: found.0,
            });
        }
        if r.mac == MacVerdict::Bad {
            r.error = Some(if !(macs.cmd || macs.resp) {
                ExchangeError::NoMac(mode)
            } else if !macs.cmd {
                ExchangeError::CommandMac
            } else if resp.len() < MAC_LEN {
                ExchangeError::MissingResponseMac
            } else {
                ExchangeError::ResponseMac
            });
        }
        if mode == CommMode::Plain {
            let (header, data) = body.split_at(hdr.min(body.len()));
            r.header = Some(header.to_vec());
            r.plain = Some(data.to_vec());
            r.resp_plain = Some(resp.to_vec());
        } else {
            report_secured_data(&seen, &macs, mode == CommMode::Full, ch, r);
        }
        self.learn_file_settings(ex, r);

        match ex.sw {
            Some(sw) if !status_ok => {
                r.events.push(format!(
                    "session ends: card status {}",
                    crate::hex_text::upper(&sw)
                ));
                Auth::None
            }
            _ if own_key_change => {
                r.events.push(format!(
                    "session ends: the authenticated key {} was changed",
                    f.key_no
                ));
                Auth::None
            }
            _ if ins == commands::INS_SELECT_APPLICATION => {
                self.files.clear();
                r.events.push("session ends: SelectApplication".to_owned());
                Auth::None
            }
            _ => match f.channel.cmd_ctr.next() {
                Some(next) => {
                    f.channel.cmd_ctr = next;
                    Auth::Followed(f)
                }
                None => {
                    r.events.push("session ends: CmdCtr exhausted".to_owned());
                    Auth::None
                }
            },
        }
    }

    /// The comm mode of a secured exchange: what the command table and the file settings seen
    /// so far say, else inferred from which MACs verified and whether verified data opens as
    /// Full-mode data.
    fn comm_mode(&self, seen: &Observed<'_>, macs: &MacChecks, ch: &SecureChannel) -> CommMode {
        let rule = commands::mode_rule(seen.ins);
        let file_no = seen.body.first().map(|b| b & 0x1F);
        let known_mode = match rule {
            ModeRule::AlwaysFull => Some(CommMode::Full),
            ModeRule::File(access) => file_no
                .and_then(|n| self.files.get(&n))
                .map(|fi| fi.mode_for(access)),
            ModeRule::NeverFull | ModeRule::Unknown => None,
        };
        if !(macs.cmd || macs.resp) {
            return match known_mode {
                Some(m @ (CommMode::Mac | CommMode::Full)) => m,
                _ => CommMode::Plain,
            };
        }
        match (known_mode, rule) {
            (Some(CommMode::Full), _) => CommMode::Full,
            (Some(CommMode::Mac), _) | (_, ModeRule::NeverFull) => CommMode::Mac,
            // Unknown (or a file thought plain): Full if verified data decrypts to padding.
            _ => {
                let cmd_full = macs.cmd && seen.full_command_data(ch).is_some();
                let resp_full = macs.resp && seen.full_response_data(ch).is_some();
                if cmd_full || resp_full {
                    CommMode::Full
                } else {
                    CommMode::Mac
                }
            }
        }
    }

    /// Remembers a file's comm mode and access rights from a verified GetFileSettings or
    /// ChangeFileSettings, for later file commands.
    fn learn_file_settings(&mut self, ex: &RawExchange, r: &ExchangeReport) {
        if !ex
            .sw
            .and_then(native_status)
            .is_some_and(|s| commands::completes(ex.ins, s))
        {
            return;
        }
        let Some(file_no) = r
            .header
            .as_deref()
            .and_then(|h| h.first())
            .map(|b| b & 0x1F)
        else {
            return;
        };
        // GetFileSettings: FileType FileOption AccessRights(2) …; ChangeFileSettings: FileOption
        // AccessRights(2) ….
        let settings = match ex.ins {
            commands::INS_GET_FILE_SETTINGS => r.resp_plain.as_deref().and_then(|p| p.get(1..4)),
            commands::INS_CHANGE_FILE_SETTINGS => r.plain.as_deref().and_then(|p| p.get(..3)),
            _ => None,
        };
        if let Some([option, ar0, ar1]) = settings {
            self.files.insert(
                file_no,
                FileInfo {
                    mode: CommMode::from_bits(*option),
                    rights: AccessRights::from_wire([*ar0, *ar1]),
                },
            );
        }
    }

    /// `90 71|77|AA|1A|0A 00 00 Lc KeyNo …` answered by the challenge.
    fn authentication_part1(&mut self, ex: &RawExchange, r: &mut ExchangeReport) {
        // The card drops any authentication when a new one starts.
        let prior = match std::mem::replace(&mut self.auth, Auth::None) {
            Auth::Followed(f) => Some(f),
            _ => None,
        };
        r.plain = Some(ex.cmd_data.clone());
        let name = Ins(ex.ins).name().unwrap_or("authentication");
        let Some(&key_no) = ex.cmd_data.first() else {
            r.error = Some(ExchangeError::NoKeyNumber);
            return;
        };
        if prior.is_some() && ex.ins != commands::INS_AUTH_EV2_NON_FIRST {
            r.events
                .push("session ends: a new authentication starts".to_owned());
        }
        r.events
            .push(format!("authentication with key {key_no} starts ({name})"));
        if let Some(incomplete) = ex.incomplete {
            r.error = Some(incomplete.into());
            return;
        }
        if ex.sw != Some(SW_ADDITIONAL_FRAME) {
            r.events
                .push("the card refused the authentication".to_owned());
            return;
        }
        let followable = match ex.ins {
            commands::INS_AUTH_EV2_FIRST => {
                // LenCap ≥ 1 with PCDcap2.1 = 02 asks for LRP.
                let lrp = ex.cmd_data.get(1).is_some_and(|&len| len >= 1)
                    && ex.cmd_data.get(2) == Some(&0x02);
                if lrp {
                    Err(ExchangeError::Lrp)
                } else {
                    Ok(None)
                }
            }
            commands::INS_AUTH_EV2_NON_FIRST => match &prior {
                Some(f) => Ok(Some((f.channel.ti, f.channel.cmd_ctr))),
                None => Err(ExchangeError::NonFirstWithoutSession),
            },
            _ => Err(ExchangeError::LegacyAuthentication(name)),
        };
        let kind = match followable {
            Err(e) => {
                r.error = Some(e);
                PendingKind::NotFollowed
            }
            Ok(carried) => {
                let Ok(enc_rnd_b) = <[u8; 16]>::try_from(ex.resp_data.as_slice()) else {
                    r.error = Some(ExchangeError::ChallengeLength(ex.resp_data.len()));
                    return;
                };
                match carried {
                    None => PendingKind::Ev2First { enc_rnd_b },
                    Some((ti, cmd_ctr)) => PendingKind::Ev2NonFirst {
                        enc_rnd_b,
                        ti,
                        cmd_ctr,
                    },
                }
            }
        };
        self.pending = Some(Pending {
            ins: ex.ins,
            key_no,
            kind,
        });
    }

    /// `90 AF 00 00 20 E(K, RndA || RndB') 00` answered by the confirmation.
    fn authentication_part2(&mut self, p: Pending, ex: &RawExchange, r: &mut ExchangeReport) {
        r.name = format!("{} (part 2)", Ins(p.ins));
        if let Some(incomplete) = ex.incomplete {
            r.error = Some(incomplete.into());
            return;
        }
        if ex.sw != Some([0x91, 0x00]) {
            r.events
                .push("the card refused the authentication".to_owned());
            return;
        }
        // The card accepted: unless a key below proves otherwise, a session exists that the
        // decoder cannot follow.
        self.auth = Auth::Unfollowed;
        let (enc_rnd_b, carried) = match p.kind {
            PendingKind::NotFollowed => {
                r.events.push(format!(
                    "authenticated with key {}, but the session is not followed",
                    p.key_no
                ));
                return;
            }
            PendingKind::Ev2First { enc_rnd_b } => (enc_rnd_b, None),
            PendingKind::Ev2NonFirst {
                enc_rnd_b,
                ti,
                cmd_ctr,
            } => (enc_rnd_b, Some((ti, cmd_ctr))),
        };
        let Ok(token) = <[u8; 32]>::try_from(ex.cmd_data.as_slice()) else {
            r.error = Some(ExchangeError::TokenLength(ex.cmd_data.len()));
            return;
        };
        let expected = if carried.is_none() { 32 } else { 16 };
        if ex.resp_data.len() != expected {
            r.error = Some(ExchangeError::ConfirmationLength {
                expected,
                got: ex.resp_data.len(),
            });
            return;
        }
        // Keys for this key number first, then keys for any key number.
        let candidates: Vec<&KeySpec> = self
            .keys
            .iter()
            .filter(|k| k.key_no.is_some() && k.applies_to(p.key_no))
            .chain(self.keys.iter().filter(|k| k.key_no.is_none()))
            .collect();
        if candidates.is_empty() {
            r.error = Some(ExchangeError::NoKey(p.key_no));
            return;
        }
        let mut rnd_b_verified = false;
        for spec in &candidates {
            // The card's check of the answer, then the reader's check of the confirmation.
            let k = aes(&spec.key);
            let rnd_b = handshake::open_challenge(&k, &enc_rnd_b);
            let Ok(rnd_a) = handshake::open_answer(&k, &token, &rnd_b) else {
                continue;
            };
            rnd_b_verified = true;
            let Ok(confirmed) =
                handshake::open_confirmation(&k, &ex.resp_data, carried.is_none(), &rnd_a)
            else {
                continue;
            };
            let keys = SessionKeys::derive_with(&k, &rnd_a, &rnd_b);
            let (ti, cmd_ctr, origin) = match (carried, confirmed) {
                (Some((ti, ctr)), _) => (ti, ctr, SessionOrigin::Ev2NonFirst),
                (None, Some(c)) => (c.ti, CmdCtr(0), SessionOrigin::Ev2First),
                (None, None) => continue,
            };
            let session = self.open_session(p.key_no, &keys, ti, cmd_ctr, origin, Some(r.index));
            r.session = Some(session);
            r.events.push(format!(
                "authenticated with key {} ({}): session {session}, TI {ti}, CmdCtr {}",
                p.key_no,
                origin.as_str(),
                cmd_ctr.0
            ));
            return;
        }
        r.events.push(format!(
            "the card accepted key {}, but the decoder cannot follow the session",
            p.key_no
        ));
        r.error = Some(if rnd_b_verified {
            ExchangeError::RndAMismatch
        } else {
            ExchangeError::RndBMismatch {
                key_no: p.key_no,
                candidates: candidates.len(),
            }
        });
    }
}
