use super::*;
use crate::virtual_card::ATR_T1;
use hex_literal::hex;

/// Echoes each C-APDU back with `9000`; counts power events.
#[derive(Debug, Default)]
struct Echo {
    ons: u32,
    offs: u32,
    resets: u32,
    answer_len: Option<usize>,
    answered_by_reader: Vec<(Vec<u8>, Vec<u8>)>,
}

impl VirtualCard for Echo {
    fn atr(&self) -> &[u8] {
        &ATR_T1
    }
    fn power_on(&mut self) {
        self.ons += 1;
    }
    fn power_off(&mut self) {
        self.offs += 1;
    }
    fn reset(&mut self) {
        self.resets += 1;
    }
    fn anticollision_uid(&self) -> &[u8] {
        &hex!("08A1B2C3")
    }
    fn transmit(&mut self, capdu: &[u8], rapdu: &mut [u8]) -> usize {
        if let Some(n) = self.answer_len {
            return n;
        }
        let n = capdu.len().min(rapdu.len() - 2);
        rapdu[..n].copy_from_slice(&capdu[..n]);
        rapdu[n..n + 2].copy_from_slice(&[0x90, 0x00]);
        n + 2
    }
    fn answered_by_reader(&mut self, capdu: &[u8], rapdu: &[u8]) {
        self.answered_by_reader
            .push((capdu.to_vec(), rapdu.to_vec()));
    }
}

fn handle(s: &mut Session<Echo>, payload: &[u8]) -> Option<Vec<u8>> {
    let mut out = vec![0u8; MAX_RAPDU];
    s.handle(payload, &mut out).map(|n| out[..n].to_vec())
}

#[test]
fn control_messages() {
    let mut s = Session::new(Echo::default());
    assert_eq!(handle(&mut s, &[0x04]).unwrap(), ATR_T1);
    assert_eq!(handle(&mut s, &[0x01]), None);
    assert_eq!(
        handle(&mut s, &[0x01]),
        None,
        "already on: no second activation"
    );
    assert_eq!(handle(&mut s, &[0x02]), None);
    assert_eq!(handle(&mut s, &[0x00]), None);
    // Any other single byte is a command from a PC/SC client, answered (here: off, 6F00).
    assert_eq!(handle(&mut s, &[0x03]).unwrap(), hex!("6F00"));
    assert_eq!(handle(&mut s, &[]), None);
    let card = s.into_card();
    assert_eq!((card.ons, card.resets, card.offs), (1, 1, 1));
}

/// A native DESFire command of one byte (GetVersion `60`) through vpcd is a command, not a
/// control message: it reaches the card and gets its answer, so pcscd and the client never
/// wait forever.
#[test]
fn a_one_byte_native_command_gets_an_answer() {
    let mut s = Session::new(Echo::default());
    handle(&mut s, &[0x01]);
    assert_eq!(handle(&mut s, &[0x60]).unwrap(), hex!("60 9000"));
    for code in 0..=u8::MAX {
        let answered = handle(&mut s, &[code]).is_some();
        let control = matches!(code, 0x00 | 0x01 | 0x02 | 0x04);
        assert_eq!(answered, !control || code == 0x04, "{code:02X}");
        handle(&mut s, &[0x01]);
    }
}

#[test]
fn apdus_reach_the_card_only_when_powered() {
    let mut s = Session::new(Echo::default());
    assert_eq!(handle(&mut s, &hex!("9060000000")).unwrap(), hex!("6F00"));
    handle(&mut s, &[0x01]);
    assert_eq!(
        handle(&mut s, &hex!("9060000000")).unwrap(),
        hex!("9060000000 9000")
    );
    assert_eq!(
        handle(&mut s, &hex!("FFCA000000")).unwrap(),
        hex!("08A1B2C3 9000"),
        "GET DATA is the reader's, not the card's"
    );
    assert_eq!(
        handle(&mut s, &hex!("FFCA010000")).unwrap(),
        hex!("80 9000")
    );
}

#[test]
fn a_mute_or_lying_card_gives_6f00() {
    let mut s = Session::new(Echo {
        answer_len: Some(0),
        ..Echo::default()
    });
    handle(&mut s, &[0x01]);
    assert_eq!(handle(&mut s, &hex!("9060000000")).unwrap(), hex!("6F00"));
    let mut s = Session::new(Echo {
        answer_len: Some(MAX_RAPDU + 1),
        ..Echo::default()
    });
    handle(&mut s, &[0x01]);
    assert_eq!(handle(&mut s, &hex!("9060000000")).unwrap(), hex!("6F00"));
}

/// Reads from a script of vpcd frames, collects what the card side writes.
struct Duplex {
    input: std::io::Cursor<Vec<u8>>,
    output: Vec<u8>,
}

impl std::io::Read for Duplex {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.input.read(buf)
    }
}

impl std::io::Write for Duplex {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.output.write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn frames(payloads: &[&[u8]]) -> Vec<u8> {
    let mut v = Vec::new();
    for p in payloads {
        v.extend_from_slice(&(p.len() as u16).to_be_bytes());
        v.extend_from_slice(p);
    }
    v
}

fn run(input: Vec<u8>) -> (ServeEnd, Vec<u8>, String) {
    let mut stream = Duplex {
        input: std::io::Cursor::new(input),
        output: Vec::new(),
    };
    let mut session = Session::new(Echo::default());
    let mut trace = Vec::new();
    let end = serve_stream(&mut stream, &mut session, Some(&mut trace)).unwrap();
    (end, stream.output, String::from_utf8(trace).unwrap())
}

#[test]
fn a_whole_presentation_over_a_stream() {
    let input = frames(&[
        &[0x04],
        &[0x01],
        &hex!("FFCA000000"),
        &hex!("9060000000"),
        &[0x00],
    ]);
    let (end, output, trace) = run(input);
    assert_eq!(end, ServeEnd::VpcdClosed);
    assert_eq!(
        output,
        frames(&[&ATR_T1, &hex!("08A1B2C3 9000"), &hex!("9060000000 9000")])
    );
    assert_eq!(
        trace,
        "# vpcd: get ATR\n# vpcd: power on\n> FFCA000000\n< 08A1B2C39000\n\
         > 9060000000\n< 90600000009000\n# vpcd: power off\n"
    );
}

#[test]
fn truncated_frames_end_the_session_quietly() {
    for input in [
        vec![],
        vec![0x00],
        vec![0x00, 0x05, 0x90, 0x60],
        frames(&[&[0x01]]),
    ] {
        let (end, _, _) = run(input);
        assert_eq!(end, ServeEnd::VpcdClosed);
    }
}

#[test]
fn arbitrary_bytes_never_panic() {
    // A cheap deterministic sweep: lengths and contents from a linear congruential generator.
    let mut x: u32 = 0x1234_5678;
    let mut next = || {
        x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        (x >> 24) as u8
    };
    for _ in 0..200 {
        let len = usize::from(next()) % 64;
        let input: Vec<u8> = (0..len).map(|_| next()).collect();
        run(input);
    }
    // The largest frame vpcd can send.
    let big = vec![0x90u8; usize::from(u16::MAX)];
    let (end, output, _) = run(frames(&[&[0x01], &big]));
    assert_eq!(end, ServeEnd::VpcdClosed);
    assert_eq!(
        output.len(),
        2 + MAX_RAPDU,
        "echo clipped to the frame limit"
    );
}

#[test]
fn stopper_before_serve_ends_at_once() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let stream = connect(&addr).unwrap();
    let (_server, _) = listener.accept().unwrap();
    let stopper = Stopper::new();
    stopper.stop();
    let mut session = Session::new(Echo::default());
    assert_eq!(
        serve(stream, &mut session, &stopper, None).unwrap(),
        ServeEnd::Stopped
    );
}

#[test]
fn stopper_from_another_thread() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let stopper = Stopper::new();
    let s2 = stopper.clone();
    let card = std::thread::spawn(move || {
        let stream = connect(&addr).unwrap();
        let mut session = Session::new(Echo::default());
        serve(stream, &mut session, &s2, None).unwrap()
    });
    let (mut server, _) = listener.accept().unwrap();
    // One exchange proves the loop runs before the stop.
    use std::io::{Read, Write};
    server.write_all(&frames(&[&[0x04]])).unwrap();
    let mut answer = [0u8; 8];
    server.read_exact(&mut answer).unwrap();
    assert_eq!(answer, *frames(&[&ATR_T1]));
    stopper.stop();
    assert_eq!(card.join().unwrap(), ServeEnd::Stopped);
}

#[test]
fn connect_refused_is_a_typed_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    drop(listener);
    let e = connect(&addr).unwrap_err();
    assert!(matches!(e, VpcdError::Connect { .. }), "{e}");
    assert!(e.to_string().contains("is pcscd running"), "{e}");
    assert!(matches!(
        connect("no-such-host.invalid:1").unwrap_err(),
        VpcdError::Address { .. }
    ));
}

/// GET DATA is answered by the session, never reaches the card, and is reported to it, so a
/// recorder of the exchange sees what a UID-only reader did.
#[test]
fn get_data_is_reported_to_the_card() {
    let mut s = Session::new(Echo::default());
    handle(&mut s, &[0x01]);
    assert_eq!(
        handle(&mut s, &hex!("FFCA000000")).unwrap(),
        hex!("08A1B2C39000")
    );
    assert_eq!(
        handle(&mut s, &hex!("905A0000")).unwrap(),
        hex!("905A00009000")
    );
    let card = s.into_card();
    assert_eq!(
        card.answered_by_reader,
        [(hex!("FFCA000000").to_vec(), hex!("08A1B2C39000").to_vec())]
    );
}
