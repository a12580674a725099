//! The parts of the cluster form: where the cluster runs (chosen, or fixed by the project's key),
//! its node components, and its IP access list.

use super::Form;
use crate::components::{Field, FieldMessage};
use leptos::prelude::*;

/// Tier, provider and region, as fixed by the project's key, each with its own label and why it
/// is fixed, so a screen reader hears "Region: Oregon (us-west-2)" and the reason.
#[component]
pub fn LockedPlacement(
    /// Why they are fixed ("This project encrypts with the key in …", cmek-core's).
    reason: String,
    /// The key's region.
    region: String,
) -> impl IntoView {
    view! {
        <div class="field" id="locked-fields">
            <span class="label" id="cluster-tier-label">"Tier"</span>
            <p class="readonly locked" id="cluster-tier" aria-labelledby="cluster-tier-label cluster-tier">"Dedicated " <span class="muted">"— " {reason.clone()} ": CMEK projects host Dedicated clusters only."</span></p>
            <span class="label" id="cluster-provider-label">"Cloud provider"</span>
            <p class="readonly locked" id="cluster-provider" aria-labelledby="cluster-provider-label cluster-provider">"AWS " <span class="muted">"— " {reason.clone()} " (AWS KMS)."</span></p>
            <span class="label" id="cluster-region-label">"Region"</span>
            <p class="readonly locked" id="cluster-region" aria-labelledby="cluster-region-label cluster-region">{cmek_core::region::label(&region)} " " <span class="muted">"— " {reason} "; its clusters run there only."</span></p>
        </div>
    }
}

/// Tier, provider and region, chosen from the catalog.
#[component]
pub fn Placement(form: Form) -> impl IntoView {
    let (draft, catalog) = (form.draft, form.catalog);
    let regions = move || {
        catalog.with_value(|c| {
            draft.with(|d| c.regions(d.cluster_type(), d.provider()).into_iter().map(str::to_owned).collect::<Vec<_>>())
        })
    };
    let region = form.field("region");
    view! {
        <fieldset class="field">
            <legend>"Tier"</legend>
            <div class="radio-row" id="cluster-tier">
                <label><input type="radio" name="tier" prop:checked=move || draft.with(|d| !d.serverless)
                    on:change=move |_| draft.update(|d| { d.serverless = false; catalog.with_value(|c| d.fit(c)); })/>" Dedicated"</label>
                <label><input type="radio" name="tier" prop:checked=move || draft.with(|d| d.serverless)
                    on:change=move |_| draft.update(|d| { d.serverless = true; d.gcp = false; catalog.with_value(|c| d.fit(c)); })/>" Serverless"</label>
            </div>
        </fieldset>
        <div class="field">
            <label for="cluster-provider">"Cloud provider"</label>
            <select id="cluster-provider" prop:value=move || draft.with(|d| if d.gcp { "GCP" } else { "AWS" })
                on:change=form.set(|d, v| d.gcp = v == "GCP")>
                <option value="AWS">"AWS"</option>
                <option value="GCP">"Google Cloud"</option>
            </select>
        </div>
        <Field field=region.clone() label="Region">
            <select {..region.control()} prop:value=move || draft.with(|d| d.region.clone()) on:change=form.set(|d, v| d.region = v)>
                {move || regions().into_iter().map(|r| view! { <option value=r.clone()>{cmek_core::region::label(&r)}</option> }).collect_view()}
            </select>
        </Field>
    }
}

/// The node components of a Dedicated cluster: TiDB, TiKV and the optional TiFlash, each size
/// from the catalog for the region, with the catalog's ranges as help.
#[component]
pub fn NodeComponents(form: Form) -> impl IntoView {
    let draft = form.draft;
    let entry = move || form.entry();
    // The TiKV node size's catalog profile (its quantity step and storage range).
    let tikv = move || entry().and_then(|e| e.tikv.into_iter().find(|p| draft.with(|d| p.node_size == d.tikv_size)));
    let (tidb_size, tidb_quantity) =
        (form.field("config.components.tidb.node_size"), form.field("config.components.tidb.node_quantity"));
    let tikv_size = form
        .field("config.components.tikv.node_size")
        .help("With 4 vCPUs, TiDB and TiKV must have the same vCPUs, and TiFlash is not available.");
    let tikv_quantity = form.field("config.components.tikv.node_quantity").help(Signal::derive(move || {
        tikv()
            .map(|p| format!("At least {}, in steps of {}.", p.node_quantity_range.min, p.node_quantity_range.step))
            .unwrap_or_default()
    }));
    let tikv_storage = form.field("config.components.tikv.storage_size_gib").help(Signal::derive(move || {
        tikv()
            .map(|p| format!("{}–{} GiB.", p.storage_size_gib_range.min, p.storage_size_gib_range.max))
            .unwrap_or_default()
    }));
    let tiflash = form.field("config.components.tiflash");
    view! {
        <fieldset class="field">
            <legend>"TiDB (SQL nodes)"</legend>
            <Field field=tidb_size.clone() label="Node size" grouped=true>
                <select {..tidb_size.control()} prop:value=move || draft.with(|d| d.tidb_size.clone()) on:change=form.set(|d, v| d.tidb_size = v)>
                    {move || entry().map(|e| e.tidb.iter().map(|p| view! { <option value=p.node_size.clone()>{p.node_size.clone()}</option> }).collect_view())}
                </select>
            </Field>
            <Field field=tidb_quantity.clone() label="Nodes" grouped=true>
                <input {..tidb_quantity.control()} type="number" class="short" prop:value=move || draft.with(|d| d.tidb_quantity.clone())
                    min=move || entry().and_then(|e| e.tidb.first().map(|p| p.node_quantity_range.min))
                    on:input=form.set(|d, v| d.tidb_quantity = v) on:blur=tidb_quantity.left()/>
            </Field>
        </fieldset>
        <fieldset class="field">
            <legend>"TiKV (row storage)"</legend>
            <Field field=tikv_size.clone() label="Node size" grouped=true>
                <select {..tikv_size.control()} prop:value=move || draft.with(|d| d.tikv_size.clone()) on:change=form.set(|d, v| d.tikv_size = v)>
                    {move || entry().map(|e| e.tikv.iter().map(|p| view! { <option value=p.node_size.clone()>{p.node_size.clone()}</option> }).collect_view())}
                </select>
            </Field>
            <Field field=tikv_quantity.clone() label="Nodes" grouped=true>
                <input {..tikv_quantity.control()} type="number" class="short" prop:value=move || draft.with(|d| d.tikv_quantity.clone())
                    step=move || tikv().map(|p| p.node_quantity_range.step)
                    on:input=form.set(|d, v| d.tikv_quantity = v) on:blur=tikv_quantity.left()/>
            </Field>
            <Field field=tikv_storage.clone() label="Storage per node (GiB)" grouped=true>
                <input {..tikv_storage.control()} type="number" class="short" prop:value=move || draft.with(|d| d.tikv_storage.clone())
                    on:input=form.set(|d, v| d.tikv_storage = v) on:blur=tikv_storage.left()/>
            </Field>
        </fieldset>
        <fieldset class="field">
            <legend>"TiFlash (columnar storage, optional)"</legend>
            <label class="check"><input type="checkbox" {..tiflash.control()} prop:checked=move || draft.with(|d| d.tiflash)
                on:change=move |ev| draft.update(|d| d.tiflash = event_target_checked(&ev))/>" Add TiFlash nodes"</label>
            <FieldMessage field=tiflash.clone()/>
            <Show when=move || draft.with(|d| d.tiflash)>
                <TiFlashNodes form=form/>
            </Show>
        </fieldset>
    }
}

/// TiFlash's nodes, once TiFlash is added.
#[component]
fn TiFlashNodes(form: Form) -> impl IntoView {
    let (draft, entry) = (form.draft, move || form.entry());
    let (tiflash_size, tiflash_quantity, tiflash_storage) = (
        form.field("config.components.tiflash.node_size"),
        form.field("config.components.tiflash.node_quantity"),
        form.field("config.components.tiflash.storage_size_gib"),
    );
    view! {
        <Field field=tiflash_size.clone() label="Node size" grouped=true>
            <select {..tiflash_size.control()} prop:value=move || draft.with(|d| d.tiflash_size.clone()) on:change=form.set(|d, v| d.tiflash_size = v)>
                {move || entry().map(|e| e.tiflash.iter().map(|p| view! { <option value=p.node_size.clone()>{p.node_size.clone()}</option> }).collect_view())}
            </select>
        </Field>
        <Field field=tiflash_quantity.clone() label="Nodes" grouped=true>
            <input {..tiflash_quantity.control()} type="number" class="short" prop:value=move || draft.with(|d| d.tiflash_quantity.clone())
                on:input=form.set(|d, v| d.tiflash_quantity = v) on:blur=tiflash_quantity.left()/>
        </Field>
        <Field field=tiflash_storage.clone() label="Storage per node (GiB)" grouped=true>
            <input {..tiflash_storage.control()} type="number" class="short" prop:value=move || draft.with(|d| d.tiflash_storage.clone())
                on:input=form.set(|d, v| d.tiflash_storage = v) on:blur=tiflash_storage.left()/>
        </Field>
    }
}

/// The IP access list: CIDR blocks allowed to connect, each with a description.
#[component]
pub fn IpAccessList(form: Form) -> impl IntoView {
    let (draft, errors) = (form.draft, form.errors);
    let rows = move || (0..draft.with(|d| d.ip_access_list.len())).collect::<Vec<usize>>();
    let add = form.field("config.ip_access_list");
    view! {
        <fieldset class="field">
            <legend>"IP access list"</legend>
            <p class="help">"Addresses allowed to connect to the standard endpoint, as CIDR blocks."</p>
            {move || draft.with(|d| d.ip_access_list.len()).eq(&0).then(|| view! { <p class="muted">"No entries: add your address to connect."</p> })}
            <For each=rows key=|i| *i let:i>
                <div class="ip-row">
                    <label for=format!("ip-cidr-{i}")>"CIDR"</label>
                    <input id=format!("ip-cidr-{i}") type="text" class="cidr" placeholder="203.0.113.7/32"
                        prop:value=move || draft.with(|d| d.ip_access_list.get(i).map(|e| e.0.clone()).unwrap_or_default())
                        on:input=move |ev| { let v = event_target_value(&ev); draft.update(|d| if let Some(e) = d.ip_access_list.get_mut(i) { e.0 = v }) }
                        aria-invalid=move || errors.submitted_message(&format!("ip-cidr-{i}")).is_some().then_some("true")/>
                    <label for=format!("ip-desc-{i}")>"Description"</label>
                    <input id=format!("ip-desc-{i}") type="text"
                        prop:value=move || draft.with(|d| d.ip_access_list.get(i).map(|e| e.1.clone()).unwrap_or_default())
                        on:input=move |ev| { let v = event_target_value(&ev); draft.update(|d| if let Some(e) = d.ip_access_list.get_mut(i) { e.1 = v }) }/>
                    <button type="button" class="btn" on:click=move |_| draft.update(|d| { if i < d.ip_access_list.len() { d.ip_access_list.remove(i); } })>
                        "Remove" <span class="sr-only">" entry " {i + 1}</span>
                    </button>
                    <p class="field-error">{move || errors.submitted_message(&format!("ip-cidr-{i}"))}</p>
                </div>
            </For>
            <button type="button" class="btn" id=add.id() on:click=move |_| draft.update(|d| d.ip_access_list.push((String::new(), String::new())))>"Add an address"</button>
            <FieldMessage field=add/>
        </fieldset>
    }
}
