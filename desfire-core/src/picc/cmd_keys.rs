//! Key commands: GetKeySettings, ChangeKeySettings, ChangeKey, GetKeyVersion.

use super::params::Params;
use super::state::KeySlot;
use super::{Core, Done, out_err};
use crate::crypto::{AesKey, crc32};
use crate::wire::{Aid, ChangeKeyAccess, KeySettings, Status, Writer};
use subtle::ConstantTimeEq;
use zeroize::Zeroize;

/// ChangeKey key number byte of the PICC master key: key 0, type bits `10` (AES).
const PICC_AES_KEY: u8 = 0x80;

impl Core {
    /// KeySett1 and KeySett2 (`10` AES, bit 5 ISO, key count). The PICC level answers `81`.
    pub(crate) fn get_key_settings(
        &mut self,
        p: Params<'_>,
        out: &mut Writer<'_>,
    ) -> Result<Done, Status> {
        p.finish()?;
        self.master_or(self.key_settings().free_directory_list)?;
        let sett2 = if self.vol.selected == Aid::PICC {
            0x81
        } else {
            self.selected_app()?.key_sett2()
        };
        out.put(&[self.key_settings().byte(), sett2])
            .map_err(out_err)?;
        Done::ok()
    }

    pub(crate) fn selected_app(&self) -> Result<&super::state::App, Status> {
        self.state
            .app_index(self.vol.selected)
            .and_then(|i| self.state.apps.get(i))
            .ok_or(Status::APPLICATION_NOT_FOUND)
    }

    /// Master key and KeySett1 bit 3.
    pub(crate) fn change_key_settings(&mut self, mut p: Params<'_>) -> Result<Done, Status> {
        let settings = KeySettings::from_byte(p.u8()?);
        p.finish()?;
        if !self.is_master() {
            return Err(Status::AUTHENTICATION_ERROR);
        }
        if !self.key_settings().config_changeable {
            return Err(Status::PERMISSION_DENIED);
        }
        if self.vol.selected == Aid::PICC {
            self.state.picc_settings = settings;
        } else {
            let i = self
                .state
                .app_index(self.vol.selected)
                .ok_or(Status::APPLICATION_NOT_FOUND)?;
            self.state
                .apps
                .get_mut(i)
                .ok_or(Status::APPLICATION_NOT_FOUND)?
                .settings = settings;
        }
        Done::persisted()
    }

    /// Who may change key `target` (KeySett1 bits 7-4 for the others, bit 0 for the master key).
    fn may_change(&self, target: u8) -> Result<(), Status> {
        let auth = self.vol.auth_key().ok_or(Status::AUTHENTICATION_ERROR)?;
        let settings = self.key_settings();
        if target == 0 {
            if auth != 0 {
                return Err(Status::AUTHENTICATION_ERROR);
            }
            return if settings.master_key_changeable {
                Ok(())
            } else {
                Err(Status::PERMISSION_DENIED)
            };
        }
        let needed = match settings.change_key {
            ChangeKeyAccess::MasterKey => 0,
            ChangeKeyAccess::SameKey => target,
            ChangeKeyAccess::Frozen => return Err(Status::PERMISSION_DENIED),
            ChangeKeyAccess::Key(k) => k.value(),
        };
        if auth == needed {
            Ok(())
        } else {
            Err(Status::AUTHENTICATION_ERROR)
        }
    }

    /// Another key: `(new ^ old) ‖ version ‖ CRC32(new)`; the session's own key: `new ‖ version`,
    /// answered with a bare `9100` that ends the session.
    pub(crate) fn change_key(&mut self, mut p: Params<'_>) -> Result<Done, Status> {
        let byte = p.u8()?;
        let target = if self.vol.selected == Aid::PICC {
            if byte != PICC_AES_KEY {
                return Err(Status::PARAMETER_ERROR);
            }
            0
        } else {
            if byte >= self.selected_app()?.key_count {
                return Err(Status::NO_SUCH_KEY);
            }
            byte
        };
        self.may_change(target)?;
        let same = self.vol.auth_key() == Some(target);
        let old = self.key(target).ok_or(Status::NO_SUCH_KEY)?.key.clone();
        let mut new: [u8; 16] = p.array()?;
        let version = p.u8()?;
        if !same {
            let crc: [u8; 4] = p.array()?;
            for (n, o) in new.iter_mut().zip(old.expose()) {
                *n ^= o;
            }
            if !bool::from(crc32(&[&new]).ct_eq(&crc)) {
                new.zeroize();
                return Err(Status::INTEGRITY_ERROR);
            }
        }
        p.finish()?;
        let slot = KeySlot {
            key: AesKey::new(new),
            version,
        };
        new.zeroize();
        if self.vol.selected == Aid::PICC {
            self.state.picc_key = slot;
        } else {
            let i = self
                .state
                .app_index(self.vol.selected)
                .ok_or(Status::APPLICATION_NOT_FOUND)?;
            let app = self
                .state
                .apps
                .get_mut(i)
                .ok_or(Status::APPLICATION_NOT_FOUND)?;
            *app.keys
                .get_mut(usize::from(target))
                .ok_or(Status::NO_SUCH_KEY)? = slot;
        }
        Ok(Done {
            persist: true,
            ends_session: same,
            ..Done::default()
        })
    }

    pub(crate) fn get_key_version(
        &mut self,
        mut p: Params<'_>,
        out: &mut Writer<'_>,
    ) -> Result<Done, Status> {
        let no = p.u8()?;
        p.finish()?;
        let no = if self.vol.selected == Aid::PICC {
            no & 0x3F
        } else {
            no
        };
        let slot = self.key(no).ok_or(Status::NO_SUCH_KEY)?;
        out.put_u8(slot.version).map_err(out_err)?;
        Done::ok()
    }
}
