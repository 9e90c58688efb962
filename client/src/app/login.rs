//! The login / register screen: server, username and a hidden password,
//! with the server's refusal shown as one line above the fields.

use super::{App, Effect};
use crate::events::{Auth, NetCmd};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use heartlink_protocol::{Password, Secret, Username};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Login,
    Register,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Server,
    Username,
    Password,
}

/// The form's state. The password lives only here, only until it is sent.
#[derive(Clone, PartialEq, Eq)]
pub struct LoginForm {
    pub mode: Mode,
    pub server: String,
    pub username: String,
    password: String,
    pub focus: Field,
    /// The last refusal, in one line.
    pub error: Option<String>,
    /// Waiting for the server's answer.
    pub busy: bool,
}

impl std::fmt::Debug for LoginForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginForm")
            .field("mode", &self.mode)
            .field("server", &self.server)
            .field("username", &self.username)
            .field("focus", &self.focus)
            .field("error", &self.error)
            .finish_non_exhaustive()
    }
}

impl LoginForm {
    /// A form with what is known filled in; the focus is on the first gap.
    pub fn new(mode: Mode, server: String, username: Option<String>, error: Option<String>) -> Self {
        let username = username.unwrap_or_default();
        let focus = if server.is_empty() {
            Field::Server
        } else if username.is_empty() {
            Field::Username
        } else {
            Field::Password
        };
        Self { mode, server, username, password: String::new(), focus, error, busy: false }
    }

    /// How many characters of password were typed (shown as dots).
    pub fn password_len(&self) -> usize {
        self.password.chars().count()
    }

    fn field_mut(&mut self) -> &mut String {
        match self.focus {
            Field::Server => &mut self.server,
            Field::Username => &mut self.username,
            Field::Password => &mut self.password,
        }
    }

    fn next_field(&mut self) {
        self.focus = match self.focus {
            Field::Server => Field::Username,
            Field::Username | Field::Password => Field::Password,
        };
    }

    fn previous_field(&mut self) {
        self.focus = match self.focus {
            Field::Server | Field::Username => Field::Server,
            Field::Password => Field::Username,
        };
    }

    /// Checks the fields and builds the credentials, or says what is wrong.
    fn credentials(&self) -> Result<Auth, String> {
        if self.server.trim().is_empty() {
            return Err("enter the server's URL, e.g. ws://127.0.0.1:7878/ws".into());
        }
        match self.mode {
            Mode::Login => {
                if self.username.is_empty() || self.password.is_empty() {
                    return Err("enter your username and password".into());
                }
                Ok(Auth::Login { username: self.username.clone(), password: Secret::new(self.password.clone()) })
            }
            Mode::Register => {
                let username = Username::try_from(self.username.as_str()).map_err(|err| err.message.to_owned())?;
                let password = Password::try_from(self.password.as_str()).map_err(|err| err.message.to_owned())?;
                Ok(Auth::Register { username, password })
            }
        }
    }
}

impl App {
    pub(super) fn login_key(&mut self, key: KeyEvent) -> Vec<Effect> {
        let super::Screen::Login(form) = &mut self.screen else { return Vec::new() };
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        match key.code {
            KeyCode::Char('c') if ctrl => return vec![Effect::Quit],
            KeyCode::Esc => return vec![Effect::Quit],
            _ if form.busy => {}
            KeyCode::Tab | KeyCode::Down => form.next_field(),
            KeyCode::BackTab | KeyCode::Up => form.previous_field(),
            KeyCode::F(2) => {
                form.mode = if form.mode == Mode::Login { Mode::Register } else { Mode::Login };
            }
            KeyCode::Backspace => drop(form.field_mut().pop()),
            KeyCode::Char('u') if ctrl => form.field_mut().clear(),
            KeyCode::Char(c) if !ctrl => form.field_mut().push(c),
            KeyCode::Enter => return self.submit_login(),
            _ => {}
        }
        Vec::new()
    }

    fn submit_login(&mut self) -> Vec<Effect> {
        let super::Screen::Login(form) = &mut self.screen else { return Vec::new() };
        let empty = form.field_mut().is_empty();
        if form.focus != Field::Password && !empty {
            form.next_field();
            return Vec::new();
        }
        match form.credentials() {
            Ok(auth) => {
                form.busy = true;
                form.error = None;
                // The password leaves the form with the request.
                form.password.clear();
                self.server = form.server.trim().to_owned();
                self.on_server = crate::server_url::first(&self.server);
                self.username = form.username.clone();
                vec![Effect::Net(NetCmd::Authenticate { server: self.server.clone(), auth })]
            }
            Err(reason) => {
                form.error = Some(reason);
                Vec::new()
            }
        }
    }

    /// Back to the login screen after a refusal, keeping server and username.
    pub(super) fn show_login(&mut self, reason: String) {
        let mode = match &self.screen {
            super::Screen::Login(form) => form.mode,
            super::Screen::Chat => Mode::Login,
        };
        let username = Some(self.username.clone()).filter(|name| !name.is_empty());
        self.screen = super::Screen::Login(LoginForm::new(mode, self.server.clone(), username, Some(reason)));
    }
}
