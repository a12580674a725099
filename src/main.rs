use cmek_console::App;
use leptos::prelude::*;

fn main() {
    cmek_console::interactive::mark_start();
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(|| view! { <App/> });
}
