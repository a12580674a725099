//! A form's fields, as thaw's `Field` has them: each owns its label, its control's id (derived
//! from the rule's field path), its help and its error, and links them for a screen reader. The
//! form knows which errors to show when, and focuses the first field in error.

use cmek_core::FieldError;
use leptos::prelude::*;
use wasm_bindgen::JsCast;

/// A form's field errors and when each is shown: the rules' once the field was left or the form
/// submitted (not while typing for the first time), the server's at once. Each error is shown at
/// the control whose id its path derives (`id_of`).
#[derive(Clone, Copy)]
pub struct FormErrors {
    rules: Signal<Vec<FieldError>>,
    server: Signal<Vec<FieldError>>,
    touched: RwSignal<Vec<String>>,
    submitted: RwSignal<bool>,
    id_of: fn(&str) -> String,
}

impl FormErrors {
    /// `rules`: what the rules say of the form as typed; `server`: the field errors of the
    /// server's last refusal; `id_of`: the control's id for a rule's field path.
    pub fn new(rules: Signal<Vec<FieldError>>, server: Signal<Vec<FieldError>>, id_of: fn(&str) -> String) -> Self {
        FormErrors { rules, server, touched: RwSignal::new(Vec::new()), submitted: RwSignal::new(false), id_of }
    }

    /// The field whose control the rule's `path` names.
    pub fn field(self, path: &str) -> FormField {
        FormField { id: (self.id_of)(path), help: None, form: self }
    }

    /// Whether the form was submitted (every rule error is then shown).
    pub fn submitted(self) -> Signal<bool> {
        self.submitted.into()
    }

    /// What the control `id` says now.
    pub fn message(self, id: &str) -> Option<String> {
        let at =
            |errors: &Vec<FieldError>| errors.iter().find(|f| (self.id_of)(&f.field) == id).map(|f| f.message.clone());
        let show = self.submitted.get() || self.touched.with(|t| t.iter().any(|x| x == id));
        let server = self.server.with(at);
        if show { self.rules.with(at).or(server) } else { server }
    }

    /// The rules' message for the control `id`, once the form was submitted.
    pub fn submitted_message(self, id: &str) -> Option<String> {
        if !self.submitted.get() {
            return None;
        }
        self.rules.with(|e| e.iter().find(|f| (self.id_of)(&f.field) == id).map(|f| f.message.clone()))
    }

    fn touch(self, id: &str) {
        if !self.touched.with_untracked(|t| t.iter().any(|x| x == id)) {
            self.touched.update(|t| t.push(id.to_owned()));
        }
    }

    /// Submits: shows every error, and focuses the first control in error in `form`, in document
    /// order. Whether the form may be sent (no rule error).
    pub fn submit(self, form: Option<web_sys::Element>) -> bool {
        self.submitted.set(true);
        let ids: Vec<String> = self.rules.with_untracked(|e| e.iter().map(|f| (self.id_of)(&f.field)).collect());
        if ids.is_empty() {
            return true;
        }
        let controls = form.and_then(|f| f.query_selector_all("[id]").ok());
        let first = controls.and_then(|list| {
            (0..list.length())
                .filter_map(|i| list.item(i)?.dyn_into::<web_sys::HtmlElement>().ok())
                .find(|el| ids.contains(&el.id()))
        });
        if let Some(el) = first {
            let _ = el.focus();
        }
        false
    }
}

/// One field of a form: its control's id, its help, and its errors.
#[derive(Clone)]
pub struct FormField {
    id: String,
    help: Option<Signal<String>>,
    form: FormErrors,
}

impl FormField {
    /// With a help text under the control (linked to it).
    pub fn help(mut self, text: impl Into<Signal<String>>) -> Self {
        self.help = Some(text.into());
        self
    }

    /// The control's element id.
    pub fn id(&self) -> String {
        self.id.clone()
    }

    /// The control's `aria-describedby`: its help, if any, and its error.
    pub fn described_by(&self) -> String {
        match self.help {
            Some(_) => format!("{0}-help {0}-error", self.id),
            None => format!("{}-error", self.id),
        }
    }

    /// The control's `aria-invalid`.
    pub fn invalid(&self) -> impl Fn() -> Option<&'static str> + Clone + Send + Sync + 'static + use<> {
        let (form, id) = (self.form, self.id.clone());
        move || form.message(&id).is_some().then_some("true")
    }

    /// What the field's error line says now.
    pub fn message(&self) -> impl Fn() -> Option<String> + Clone + Send + Sync + 'static + use<> {
        let (form, id) = (self.form, self.id.clone());
        move || form.message(&id)
    }

    /// The control's own attributes — its `id`, `aria-invalid` and `aria-describedby` — to spread
    /// on it: `<input {..field.control()} …/>`.
    pub fn control(&self) -> impl leptos::attr::Attribute + use<> {
        view! { <{..} id=self.id() aria-invalid=self.invalid() aria-describedby=self.described_by()/> }
    }

    /// For the control's `on:blur`: a field that was left shows its errors from then on.
    pub fn left(&self) -> impl Fn(web_sys::FocusEvent) + Clone + 'static + use<> {
        let (form, id) = (self.form, self.id.clone());
        move |_| form.touch(&id)
    }
}

/// A field's label, control (the children, with the field's `id`, `aria-invalid` and
/// `aria-describedby`), help and error line.
#[component]
pub fn Field(
    /// The field (`FormErrors::field`).
    field: FormField,
    /// The label's text.
    #[prop(into)]
    label: String,
    /// One of several controls in a `fieldset`: no `div.field` of its own.
    #[prop(optional)]
    grouped: bool,
    children: Children,
) -> impl IntoView {
    let id = field.id();
    let parts = view! {
        <label for=id.clone()>{label}</label>
        {children()}
        {field.help.map(|h| view! { <p id=format!("{id}-help") class="help">{move || h.get()}</p> })}
        <FieldMessage field=field.clone()/>
    };
    if grouped { parts.into_any() } else { view! { <div class="field">{parts}</div> }.into_any() }
}

/// A field's error line alone (a control whose label wraps it, such as a checkbox).
#[component]
pub fn FieldMessage(field: FormField) -> impl IntoView {
    view! { <p id=format!("{}-error", field.id) class="field-error">{field.message()}</p> }
}

/// A labelled text input bound to `value`, in a `div.field` (for a short form that lists its
/// errors together rather than at each field).
#[component]
pub fn TextField(
    /// The input's element id.
    #[prop(into)]
    id: String,
    #[prop(into)] label: String,
    value: RwSignal<String>,
    /// A new password: masked, and the browser may offer to make one up.
    #[prop(optional)]
    new_password: bool,
) -> impl IntoView {
    let (kind, autocomplete) = if new_password { ("password", "new-password") } else { ("text", "off") };
    view! {
        <div class="field">
            <label for=id.clone()>{label}</label>
            <input id=id type=kind autocomplete=autocomplete prop:value=value on:input=move |ev| value.set(event_target_value(&ev))/>
        </div>
    }
}

/// Focuses the element `node` holds (a form's first field in error).
pub fn focus<E>(node: NodeRef<E>)
where
    E: leptos::tachys::html::element::ElementType,
    E::Output: JsCast + Clone + 'static,
{
    if let Some(el) = node.get_untracked() {
        let _ = el.unchecked_ref::<web_sys::HtmlElement>().focus();
    }
}
