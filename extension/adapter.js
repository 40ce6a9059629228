// The site adapter: every selector, label and page-specific step for grok.com/imagine lives here, so a
// Grok redesign is fixed in this one file. Each element has a list of candidates, tried in order:
// structure and ARIA role first, exact labels next (all known languages side by side), loose fallbacks last.
// Sources and dates of each fact: ../shared/reference/grok-imagine-web.md (README "Extension").
"use strict";

(() => {
  // Label variants seen on the localized site, side by side. Matching is case-insensitive and exact.
  const LABELS = {
    generationMode: ["Generation mode", "生成模式", "生成モード", "생성 모드", "Modo de generación", "Mode de génération", "Generierungsmodus", "Modo de geração"],
    image: ["Image", "图片", "圖片", "画像", "이미지", "Imagen", "Bild", "Imagem"],
    video: ["Video", "视频", "影片", "動画", "비디오", "동영상", "Vidéo", "Vídeo"],
    aspectRatio: ["Aspect ratio", "宽高比", "長寬比", "アスペクト比", "화면 비율", "Relación de aspecto", "Format", "Seitenverhältnis", "Proporção"],
    resolution: ["Video resolution", "视频分辨率", "影片解析度", "動画の解像度", "비디오 해상도", "Resolución de video", "Résolution vidéo", "Videoauflösung", "Resolução do vídeo"],
    duration: ["Video duration", "视频时长", "影片長度", "動画の長さ", "비디오 길이", "Duración del video", "Durée de la vidéo", "Videodauer", "Duração do vídeo"],
    presets: ["Video Presets", "视频预设", "影片預設", "動画プリセット", "비디오 프리셋", "Ajustes preestablecidos de video", "Préréglages vidéo", "Video-Voreinstellungen", "Predefinições de vídeo"],
    submit: ["Submit", "提交", "送出", "送信", "제출", "Enviar", "Envoyer", "Senden"],
    makeVideo: ["Make video", "Make a video", "制作视频", "製作影片", "動画を作成", "동영상 만들기", "Crear video", "Créer une vidéo", "Video erstellen", "Criar vídeo"],
    back: ["Back", "返回", "戻る", "뒤로", "Atrás", "Retour", "Zurück", "Voltar"],
    // Extend from Frame (2026-03): a button on a finished video's post opens the extend panel, whose own
    // button confirms; the added seconds are a radio group there.
    extendOpen: ["Extend video", "Extend", "Extend from Frame", "延长视频", "延長影片", "動画を延長", "동영상 연장", "Extender video", "Prolonger la vidéo", "Video verlängern", "Estender vídeo"],
    extendConfirm: ["Extend", "延长", "延長", "延長する", "연장", "Extender", "Prolonger", "Verlängern", "Estender"],
    extendDuration: ["Extend duration", "延长时长", "延長時間", "延長の長さ", "연장 길이", "Duración de la extensión", "Durée de prolongation", "Verlängerungsdauer", "Duração da extensão"],
    // HD upscale (unconfirmed on the live page: the reference names only video#hd-video and its
    // generated_video_hd.mp4 source): a button of its own, or an item in the post's "More options" menu.
    upscale: ["Upscale video", "Upscale", "Upscale to HD", "HD", "放大视频", "高清放大", "提升画质", "影片高畫質", "アップスケール", "高画質化", "업스케일", "Mejorar video", "Escalar video", "Améliorer la vidéo", "Video hochskalieren", "Hochskalieren", "Melhorar vídeo"],
    moreOptions: ["More options", "More", "More actions", "Options", "更多选项", "更多", "更多選項", "その他のオプション", "その他", "더보기", "추가 옵션", "Más opciones", "Plus d'options", "Weitere Optionen", "Mehr", "Mais opções"],
    notFound: ["Post not found", "This post is unavailable", "帖子不存在", "找不到帖子", "投稿が見つかりません", "게시물을 찾을 수 없습니다", "Publicación no encontrada", "Publication introuvable", "Beitrag nicht gefunden", "Publicação não encontrada"],
    notifications: ["Notifications", "通知", "알림", "Notificaciones", "Benachrichtigungen", "Notificações"],
    skip: ["Skip", "跳过", "略過", "スキップ", "건너뛰기", "Omitir", "Passer", "Überspringen", "Pular"],
    presetNames: {
      normal: ["Normal", "普通", "標準", "일반", "Normale"],
      fun: ["Fun", "有趣", "趣味", "楽しい", "재미", "Divertido", "Amusant", "Spaß"],
      spicy: ["Spicy", "火辣", "辛辣", "スパイシー", "매운", "Picante", "Épicé", "Scharf"],
    },
  };

  // Toast wording, by the error code the server understands. Only toasts are scanned, never the body.
  const TOAST_PATTERNS = [
    ["moderated", /moderat|审核|審核|審査|검열|검토|modéré|moderiert/i],
    ["rate_limited", /rate.?limit|limit reached|quota|upgrade to unlock|too many|速率限制|限制|上限|한도|制限|límite|limite/i],
    ["page_outdated", /out of date|reload to continue|已过期|過期|古くなって|오래된|obsolète|veraltet/i],
    ["session", /sign in|log in|logged out|登录|登入|ログイン|로그인|iniciar sesión|connecter|anmelden/i],
  ];
  const SURVEY = /which video do you prefer|你更喜欢哪个视频|どちらの動画|어떤 동영상/i;

  const GENERATED_VIDEO = /\/generated_video(_hd)?\.mp4|imagine-public\.x\.ai\/.+\.mp4/;
  // A generated image: its own uuid under generated/ on the asset host (the video's URL shape), or an image file
  // on the other host seen for videos. A post's poster (.../{postUUID}/content) is not one.
  const GENERATED_IMAGE = /\/generated\/[^/?#]+\/[^/?#]+\.(jpe?g|png|webp)(\?|#|$)|imagine-public\.x\.ai\/.+\.(jpe?g|png|webp)(\?|#|$)/i;
  // What holds a list of pictures: a feed or gallery is one, and a generation's own grid another.
  const IMAGE_CONTAINERS = 'section, [role="feed"], [role="list"], ul, ol';

  const norm = (text) => (text || "").replace(/\s+/g, " ").trim();
  const lower = (text) => norm(text).toLowerCase();
  const oneOf = (list, text) => list.some((label) => lower(label) === lower(text));
  const cssString = (text) => JSON.stringify(text);
  const labelOf = (el) => norm(el.getAttribute("aria-label") || el.textContent);

  function visible(el) {
    if (!el || !el.isConnected) return false;
    if (el.closest("[hidden]")) return false; // not aria-hidden: icons carry it and are still on screen
    return el.getClientRects().length > 0;
  }

  // Candidates are functions returning an element or null; the first visible hit wins.
  function first(candidates) {
    for (const [via, find] of candidates) {
      const el = find();
      if (el) return { el, via };
    }
    return { el: null, via: null };
  }

  const q = (root, selector) => [...(root || document).querySelectorAll(selector)].find(visible) || null;
  const byLabels = (selectorFor, labels, root) => () => {
    for (const label of labels) {
      const el = q(root, selectorFor(cssString(label)));
      if (el) return el;
    }
    return null;
  };

  // --- elements -------------------------------------------------------------------------------

  function promptBox() {
    return first([
      ["query bar editor", () => q(document, '.query-bar [contenteditable="true"].ProseMirror')],
      ["form textbox", () => q(document, 'form [contenteditable="true"][role="textbox"]')],
      ["textbox", () => q(document, 'div[contenteditable="true"][role="textbox"]')],
      ["tiptap editor", () => q(document, '[contenteditable="true"].ProseMirror, [contenteditable="true"].tiptap')],
      ["video textarea", byLabels((l) => `textarea[aria-label=${l}]`, LABELS.makeVideo)],
      ["form textarea", () => q(document, "form textarea")],
    ]);
  }

  function form() {
    const box = promptBox().el;
    return (box && box.closest("form")) || q(document, "form.query-bar") || q(document, ".query-bar");
  }

  function submitButton() {
    const scope = form();
    return first([
      ["Submit", byLabels((l) => `button[type="submit"][aria-label=${l}]`, LABELS.submit, scope)],
      ["Make video", byLabels((l) => `button[aria-label=${l}]`, LABELS.makeVideo)],
      ["form submit", () => (scope ? q(scope, 'button[type="submit"]') : null)],
    ]);
  }

  function radiosOf(group) {
    return [...group.querySelectorAll('[role="radio"], button')].filter(visible);
  }

  function modeGroup() {
    return first([
      ["Generation mode", byLabels((l) => `[role="radiogroup"][aria-label=${l}]`, LABELS.generationMode)],
      [
        "two-radio group with Video",
        () =>
          [...document.querySelectorAll('[role="radiogroup"]')]
            .filter(visible)
            .find((g) => radiosOf(g).some((r) => oneOf(LABELS.video, labelOf(r)))) || null,
      ],
    ]);
  }

  function videoRadio() {
    const group = modeGroup().el;
    if (!group) return { el: null, via: null };
    const radios = radiosOf(group);
    return first([
      ["labelled Video", () => radios.find((r) => oneOf(LABELS.video, labelOf(r))) || null],
      // Structure: the mode switch has been Image then Video, in every language seen.
      ["second of two", () => (radios.length === 2 && oneOf(LABELS.image, labelOf(radios[0])) ? radios[1] : null)],
    ]);
  }

  function imageRadio() {
    const group = modeGroup().el;
    if (!group) return { el: null, via: null };
    const radios = radiosOf(group);
    return first([
      ["labelled Image", () => radios.find((r) => oneOf(LABELS.image, labelOf(r))) || null],
      ["first of two", () => (radios.length === 2 && oneOf(LABELS.video, labelOf(radios[1])) ? radios[0] : null)],
    ]);
  }

  const isChecked = (el) =>
    el.getAttribute("aria-checked") === "true" ||
    el.getAttribute("aria-pressed") === "true" ||
    ["checked", "on", "active"].includes(el.getAttribute("data-state"));

  function groupWith(labels, valuePattern) {
    return first([
      ["labelled", byLabels((l) => `[aria-label=${l}]`, labels)],
      [
        "radio group by its values",
        () =>
          [...document.querySelectorAll('[role="radiogroup"]')]
            .filter(visible)
            .find((g) => radiosOf(g).some((r) => valuePattern.test(labelOf(r)))) || null,
      ],
    ]);
  }

  const resolutionControl = () => groupWith(LABELS.resolution, /^\d{3,4}p$/i);
  const durationControl = () => groupWith(LABELS.duration, /^\d{1,2}\s*(s|sec|秒|초)$/i);

  function menuButton(labels, textMatches) {
    return first([
      ["labelled", byLabels((l) => `button[aria-label=${l}]`, labels)],
      [
        "menu button by its value",
        () => [...document.querySelectorAll('button[aria-haspopup="menu"]')].filter(visible).find((b) => textMatches(norm(b.textContent))) || null,
      ],
    ]);
  }

  const aspectButton = () => menuButton(LABELS.aspectRatio, (t) => /^\d{1,2}:\d{1,2}$/.test(t));
  const allPresetNames = () => Object.values(LABELS.presetNames).flat();
  const presetButton = () => menuButton(LABELS.presets, (t) => oneOf(allPresetNames(), t));

  function fileInput() {
    const scope = form();
    return first([
      ["form image input", () => (scope ? scope.querySelector('input[type="file"][accept*="image"]') : null)],
      ["image input", () => document.querySelector('input[type="file"][accept*="image"]')],
      ["form file input", () => (scope ? scope.querySelector('input[type="file"]') : null)],
    ]);
  }

  function toaster() {
    return first([
      ["Notifications section", byLabels((l) => `section[aria-label^=${l}]`, LABELS.notifications)],
      ["sonner toaster", () => document.querySelector("[data-sonner-toaster]")],
    ]);
  }

  function backButton() {
    return first([
      ["Back", byLabels((l) => `button[aria-label=${l}]`, LABELS.back)],
      ["arrow-left icon", () => q(document, "button svg.lucide-arrow-left")?.closest("button") || null],
    ]);
  }

  // --- reading the page -----------------------------------------------------------------------

  // An element's text as a person reads it: a toast's title and description are separate blocks, so they are
  // joined as sentences ("Video limit reached. Upgrade to unlock more"), never glued together.
  function sentences(el) {
    const blocks = [];
    let current = "";
    const flush = () => {
      const text = norm(current);
      if (text) blocks.push(text);
      current = "";
    };
    const walk = (node) => {
      for (const child of node.childNodes) {
        if (child.nodeType === Node.TEXT_NODE) {
          current += child.textContent;
        } else if (child.nodeType === Node.ELEMENT_NODE) {
          const block = !getComputedStyle(child).display.startsWith("inline");
          if (block) flush();
          walk(child);
          if (block) flush();
        }
      }
    };
    walk(el);
    flush();
    return blocks.reduce((text, part) => (!text ? part : /[.!?。！？:;…]$/.test(text) ? `${text} ${part}` : `${text}. ${part}`), "");
  }

  function toasts() {
    const root = toaster().el;
    const items = root ? [...root.querySelectorAll("li")] : [];
    items.push(...document.querySelectorAll("li[data-sonner-toast]"));
    return [...new Set(items)].map((el) => ({ el, type: el.getAttribute("data-type") || "", text: sentences(el) }));
  }

  // Messages that are not toasts but still matter: banners and dialogs (never the whole body text).
  function notices() {
    return [...document.querySelectorAll('[role="alert"], [role="status"], [role="alertdialog"], [role="dialog"]')]
      .filter(visible)
      .map((el) => ({ el, text: sentences(el) }));
  }

  function classify(text) {
    for (const [code, pattern] of TOAST_PATTERNS) if (pattern.test(text)) return code;
    return null;
  }

  // A failure signal that appeared after `seen` (a WeakSet of elements present before submitting).
  function failure(seen) {
    for (const toast of toasts()) {
      if (seen.has(toast.el)) continue;
      const code = classify(toast.text);
      if (code) return { code, message: toast.text };
      if (toast.type === "error") return { code: "worker_error", message: `Grok: ${toast.text}` };
    }
    for (const notice of notices()) {
      if (seen.has(notice.el)) continue;
      if (classify(notice.text) === "page_outdated") return { code: "page_outdated", message: notice.text };
    }
    return null;
  }

  function pageProblem() {
    // The page as loaded, before any step: signed out, or a deploy made it stale.
    if (!/(^|\.)grok\.com$/.test(location.hostname) || /\/(sign-in|login|signin)/.test(location.pathname)) {
      return { code: "session", message: "Not signed in to grok.com: sign in in this browser, then start again" };
    }
    for (const item of [...toasts(), ...notices()]) {
      if (classify(item.text) === "page_outdated") return { code: "page_outdated", message: item.text };
    }
    return null;
  }

  function markSeen() {
    const seen = new WeakSet();
    for (const item of [...toasts(), ...notices()]) seen.add(item.el);
    for (const icon of document.querySelectorAll("svg.lucide-eye-off")) seen.add(icon);
    return seen;
  }

  // A crossed-out eye that was not there before submitting: Grok hid the result (silent moderation).
  function hiddenResult(seen) {
    return [...document.querySelectorAll("svg.lucide-eye-off")].some((icon) => !seen.has(icon) && visible(icon));
  }

  function progress() {
    let best = null;
    const skip = (el) => el.closest('[contenteditable="true"], textarea, li[data-sonner-toast], [role="menu"]');
    for (const el of document.body.querySelectorAll("*")) {
      if (el.childElementCount > 0 || skip(el) || !visible(el)) continue;
      const text = norm(el.textContent);
      if (text.length > 40) continue;
      const match = /(\d{1,3})\s*%$/.exec(text);
      if (match && Number(match[1]) <= 100) best = Math.max(best ?? 0, Number(match[1]));
    }
    return best;
  }

  function videoUrls(video) {
    const urls = [video.currentSrc, video.getAttribute("src") && video.src];
    for (const source of video.querySelectorAll("source")) urls.push(source.src);
    return urls.filter(Boolean);
  }

  function allVideoUrls() {
    const urls = new Set();
    for (const video of document.querySelectorAll("video")) for (const url of videoUrls(video)) urls.add(url);
    return urls;
  }

  // Generated-video candidates not in `before`, the main (#sd-video) first, never any feed video seen before.
  function newVideos(before) {
    const found = [];
    const videos = [...document.querySelectorAll("video#sd-video"), ...document.querySelectorAll("video")];
    for (const video of new Set(videos)) {
      for (const url of videoUrls(video)) {
        if (!before.has(url) && GENERATED_VIDEO.test(url)) found.push({ url, video });
      }
    }
    return found;
  }

  // The result of this submit: a new video in the post's own result element (#sd-video, reference: the finished
  // video element), never another new video on the page (suggestions, other users' clips), however alone it is.
  function resultVideos(before) {
    const fresh = newVideos(before).filter(({ url }) => !/_hd\.mp4/.test(url));
    const own = fresh.filter(({ video }) => video.id === "sd-video");
    return { found: own, ambiguous: !own.length && fresh.length > 0 };
  }

  const imageSrc = (img) => img.currentSrc || (img.getAttribute("src") && img.src) || "";

  // The generated images on the page before submitting: their URLs, and the lists that held them (a feed or a
  // gallery, which may load more old images while the job runs).
  function markImages() {
    const urls = new Set();
    const containers = new Set();
    for (const img of document.querySelectorAll("img")) {
      const url = imageSrc(img);
      if (!GENERATED_IMAGE.test(url)) continue;
      urls.add(url);
      const list = img.closest(IMAGE_CONTAINERS);
      if (list) containers.add(list);
    }
    return { urls, containers };
  }

  // The images of this submit, in page order (newest first, as the page shows them): generated-image URLs that
  // were not on the page before, never in a list that held old images then (a feed loading more of them).
  // `elsewhere`: how many new ones were left out for that.
  function resultImages(before) {
    const found = [];
    const urls = new Set();
    let elsewhere = 0;
    for (const img of document.querySelectorAll("img")) {
      const url = imageSrc(img);
      if (!GENERATED_IMAGE.test(url) || before.urls.has(url) || urls.has(url) || !visible(img)) continue;
      const list = img.closest(IMAGE_CONTAINERS);
      if (list && before.containers.has(list)) {
        elsewhere += 1;
        continue;
      }
      urls.add(url);
      found.push({ url, img });
    }
    return { found, elsewhere };
  }

  function postId() {
    const match = /^\/imagine\/post\/([A-Za-z0-9_-]+)/.exec(location.pathname);
    return match ? match[1] : null;
  }

  // A finished video's post: its own result element has a video.
  function postVideo() {
    const video = q(document, "video#sd-video");
    return video && videoUrls(video).some((url) => GENERATED_VIDEO.test(url)) ? video : null;
  }

  // A post that did not open: the page says so in a heading or a notice (deleted, another account's, wrong id).
  function postMissing() {
    const texts = [...document.querySelectorAll("h1, h2, h3, [role='alert'], [role='status'], p")].filter(visible);
    return texts.find((el) => LABELS.notFound.some((label) => lower(el.textContent).includes(lower(label)))) || null;
  }

  function extendButton() {
    return first([["Extend video", byLabels((l) => `button[aria-label=${l}]`, LABELS.extendOpen)]]);
  }

  function extendPanel() {
    return first([
      ["Extend from Frame group", byLabels((l) => `[role="group"][aria-label=${l}], [role="dialog"][aria-label=${l}]`, ["Extend from Frame", ...LABELS.extendOpen])],
      ["extend duration's container", () => q(document, '[role="radiogroup"][aria-label*="xtend" i]')?.parentElement || null],
    ]);
  }

  function extendConfirm() {
    const panel = extendPanel().el;
    return first([["Extend", byLabels((l) => `button[aria-label=${l}]`, LABELS.extendConfirm, panel)]]);
  }

  function extendDurations() {
    const panel = extendPanel().el;
    return first([
      ["Extend duration", byLabels((l) => `[role="radiogroup"][aria-label=${l}]`, LABELS.extendDuration, panel)],
      ["radio group in the panel", () => (panel ? q(panel, '[role="radiogroup"]') : null)],
    ]);
  }

  // Open the extend panel, choose the added seconds, and return the confirm button (not yet pressed).
  async function prepareExtend(seconds) {
    const open = await need(extendButton, "Extend button", 10000);
    if (!extendPanel().el) pick(open);
    await need(extendPanel, "Extend from Frame panel", 5000);
    if (seconds) {
      const group = await need(extendDurations, "extend duration control");
      const want = String(seconds);
      const option = radiosOf(group).find((o) => (/(\d+)/.exec(labelOf(o) + " " + (o.getAttribute("value") || "")) || [])[1] === want);
      if (!option) throw new StepError("ui_changed", `extend duration control has no ${want}s option`);
      if (!isChecked(option)) pick(option);
      if (!(await waitFor(() => isChecked(option), 2000))) throw new StepError("ui_changed", `extend duration did not take ${want}s`);
    }
    return need(extendConfirm, "Extend confirm button");
  }

  // What a finished video's post offers: Extend, and remix (its own prompt box with Make video); null when this is
  // not a finished video's post.
  function readPostAbilities() {
    if (!onPostPage() || !postVideo()) return null;
    const kinds = [];
    if (extendButton().el) kinds.push("extend");
    const make = byLabels((l) => `button[aria-label=${l}]`, LABELS.makeVideo)();
    if (make && boxOf(make)) kinds.push("remix", "edit");
    return { kinds, sources: kinds.length ? ["grok"] : [] };
  }

  // --- HD upscale ------------------------------------------------------------------------------
  // Once upscaled, the post's hidden video#hd-video gets a generated_video_hd.mp4 source (reference).
  const HD_VIDEO = /\/generated_video_hd\.mp4|imagine-public\.x\.ai\/.+_hd\.mp4/;

  function upscaleButton() {
    return first([
      ["Upscale button", byLabels((l) => `button[aria-label=${l}]`, LABELS.upscale)],
      ["button labelled Upscale", () => [...document.querySelectorAll("button")].find((b) => visible(b) && oneOf(LABELS.upscale, norm(b.textContent))) || null],
    ]);
  }

  function moreOptionsButton() {
    return first([
      ["More options menu", byLabels((l) => `button[aria-label=${l}][aria-haspopup="menu"]`, LABELS.moreOptions)],
      ["More options button", byLabels((l) => `button[aria-label=${l}]`, LABELS.moreOptions)],
    ]);
  }

  const upscaleItem = (menu) =>
    menuItems(menu).find((item) => oneOf(LABELS.upscale, norm(item.textContent)) || oneOf(LABELS.upscale, item.getAttribute("aria-label") || "")) || null;

  async function closeMenus(menu) {
    document.dispatchEvent(new KeyboardEvent("keydown", { key: "Escape", bubbles: true }));
    menu.dispatchEvent(new KeyboardEvent("keydown", { key: "Escape", bubbles: true }));
    await waitFor(() => !menu.isConnected || !visible(menu), 1000);
  }

  // The upscale control of this finished video's post: {el, via, menu} (menu: the open menu that holds it), or
  // null. A menu opened to look and holding no upscale item is closed again.
  async function findUpscale() {
    if (!onPostPage() || !postVideo()) return null;
    const direct = upscaleButton();
    if (direct.el) return { ...direct, menu: null };
    const more = moreOptionsButton().el;
    if (!more) return null;
    const menu = await openMenu(more);
    if (!menu) return null;
    const item = upscaleItem(menu);
    if (item) return { el: item, via: "Upscale item of the More options menu", menu };
    await closeMenus(menu);
    return null;
  }

  // Whether this post offers the upscale (declared as the `upscale` ability); a menu opened to look is closed.
  async function canUpscale() {
    if (hdVideoUrl()) return true; // upscaled already: the control may be gone from this post
    const found = await findUpscale();
    if (found && found.menu) await closeMenus(found.menu);
    return Boolean(found);
  }

  // The HD video's URL once the post has one (video#hd-video may stay hidden: its source is what counts).
  function hdVideoUrl() {
    const video = document.querySelector("video#hd-video");
    if (!video) return null;
    return videoUrls(video).find((url) => HD_VIDEO.test(url)) || null;
  }

  // Press the post's upscale control (a button, or the item of its More options menu).
  async function startUpscale() {
    if (hdVideoUrl()) return "already upscaled";
    const found = await findUpscale();
    if (!found) {
      throw new StepError("ui_changed", "upscale control not found (no Upscale button, and no Upscale item in the post's More options menu)");
    }
    pick(found.el);
    return found.via;
  }

  function survey() {
    const box = notices().find((n) => SURVEY.test(n.text)) || null;
    if (!box) return null;
    return byLabels((l) => `button[aria-label=${l}]`, LABELS.skip, box.el)() ||
      [...box.el.querySelectorAll("button")].find((b) => oneOf(LABELS.skip, norm(b.textContent))) || null;
  }

  function onPostPage() {
    return /^\/imagine\/post\//.test(location.pathname);
  }

  const menuItems = (menu) => [...menu.querySelectorAll('[role="menuitem"], [role="menuitemradio"], [role="option"]')];

  async function menuChoices(locate) {
    const button = locate().el;
    if (!button) return null;
    const menu = await openMenu(button);
    if (!menu) return null;
    const choices = menuItems(menu).map((item) => norm(item.textContent));
    document.dispatchEvent(new KeyboardEvent("keydown", { key: "Escape", bubbles: true }));
    menu.dispatchEvent(new KeyboardEvent("keydown", { key: "Escape", bubbles: true }));
    await waitFor(() => !menu.isConnected || !visible(menu), 1000);
    return choices;
  }

  // The server's vocabulary: anything else the page may offer one day is left out, never declared wrongly.
  const VOCABULARY = {
    aspect_ratios: ["1:1", "16:9", "9:16", "4:3", "3:4", "3:2", "2:3"],
    resolutions: ["480p", "720p"],
  };

  // What this page offers, in the server's vocabulary (the abilities protocol). Menus are opened and closed.
  async function readAbilities() {
    const abilities = { kinds: [] };
    if (promptBox().el) abilities.kinds.push("text_to_video");
    if (fileInput().el) abilities.kinds.push("image_to_video");
    // Image mode is the same page's other Generation mode, with the same prompt box and file input.
    if (promptBox().el && imageRadio().el) abilities.kinds.push("text_to_image");
    if (fileInput().el && imageRadio().el) abilities.kinds.push("image_to_image");
    const labels = (control) => (control ? radiosOf(control).map(labelOf) : []);
    const durations = labels(durationControl().el)
      .map((t) => Number((/^(\d+)/.exec(t) || [])[1]))
      .filter((d) => d >= 1 && d <= 20);
    if (durations.length) abilities.durations = durations;
    const resolutions = labels(resolutionControl().el).map((t) => t.toLowerCase()).filter((t) => VOCABULARY.resolutions.includes(t));
    if (resolutions.length) abilities.resolutions = resolutions;
    const ratios = (await menuChoices(aspectButton))?.filter((t) => VOCABULARY.aspect_ratios.includes(t));
    if (ratios?.length) abilities.aspect_ratios = ratios;
    // Without a presets menu the page makes Grok's default, Normal, only.
    const presets = (await menuChoices(presetButton)) || [];
    const known = Object.entries(LABELS.presetNames).filter(([, names]) => presets.some((p) => oneOf(names, p)));
    abilities.presets = known.length ? known.map(([name]) => name) : ["normal"];
    return abilities;
  }

  function diagnose() {
    const videoMode = videoRadio().el;
    const inVideoMode = Boolean(videoMode && isChecked(videoMode));
    const row = (name, found, required, note) => ({
      name,
      found: Boolean(found.el),
      required,
      detail: found.el ? `found (${found.via})` : note || "not found",
    });
    const videoOnly = inVideoMode ? "not found" : "not found (appears once Video mode is chosen)";
    return [
      row("prompt box", promptBox(), true),
      row("submit button", submitButton(), true),
      row("generation mode switch", modeGroup(), true),
      row("Video option", videoRadio(), true),
      row("Image option", imageRadio(), false),
      row("image upload input", fileInput(), true),
      row("aspect ratio menu", aspectButton(), false, videoOnly),
      row("resolution control", resolutionControl(), false, videoOnly),
      row("duration control", durationControl(), false, videoOnly),
      row("video presets menu", presetButton(), false, videoOnly),
      row("notifications area", toaster(), false, "not found (appears with the first notification)"),
      row("back button", backButton(), false, onPostPage() ? "not found" : "not found (only on a post page)"),
      row("upscale control", upscaleButton().el ? upscaleButton() : moreOptionsButton(), false, onPostPage() ? "not found (an Upscale button, or a More options menu)" : "not found (only on a finished video's post)"),
    ];
  }


  // --- page steps -----------------------------------------------------------------------------
  // Each step throws StepError(code, message); "ui_changed: <element> not found" names what is missing.

  class StepError extends Error {
    constructor(code, message) {
      super(message);
      this.code = code;
    }
  }

  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  async function waitFor(find, timeoutMs, intervalMs = 100) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const result = find();
      if (result) return result;
      if (Date.now() >= deadline) return null;
      await sleep(intervalMs);
    }
  }

  async function need(locate, name, timeoutMs = 5000) {
    const found = await waitFor(() => locate().el, timeoutMs);
    if (!found) throw new StepError("ui_changed", `${name} not found`);
    return found;
  }

  function pointer(el, type) {
    el.dispatchEvent(new PointerEvent(type, { bubbles: true, cancelable: true, button: 0, pointerType: "mouse", isPrimary: true }));
  }

  // Radix menus open on pointerdown, not on click; a plain click() does nothing there.
  async function openMenu(button) {
    const openMenus = () => [...document.querySelectorAll('[role="menu"], [role="listbox"]')].find(visible) || null;
    pointer(button, "pointerdown");
    let menu = await waitFor(openMenus, 500);
    if (!menu) {
      button.click();
      menu = await waitFor(openMenus, 1000);
    }
    return menu;
  }

  function pick(el) {
    pointer(el, "pointerdown");
    pointer(el, "pointerup");
    el.click();
  }

  // `media` "video" or "image": the Generation mode radio to check, and wait for.
  async function chooseMode(media) {
    const [locate, name] = media === "image" ? [imageRadio, "Image"] : [videoRadio, "Video"];
    await need(modeGroup, "generation mode switch", 10000);
    const radio = await need(locate, `${name} option`);
    if (!isChecked(radio)) {
      pick(radio);
      if (!(await waitFor(() => isChecked(radio) || (locate().el && isChecked(locate().el)), 3000))) {
        throw new StepError("ui_changed", `${name} mode could not be selected`);
      }
      await sleep(1500); // the mode's controls render a moment after switching (reference: about 1.5 s)
    }
  }

  const chooseVideoMode = () => chooseMode("video");

  // Choose `value` in a control that is either a radio group or a button opening a menu.
  async function chooseIn(locate, name, value, matches) {
    const control = await need(locate, name);
    const options = control.matches('button[aria-haspopup], button[aria-label]:not([role="radio"])')
      ? null
      : radiosOf(control);
    if (options) {
      const option = options.find((o) => matches(labelOf(o)));
      if (!option) throw new StepError("ui_changed", `${name} has no ${value} option`);
      if (!isChecked(option)) pick(option);
      if (!(await waitFor(() => isChecked(option) || !option.isConnected, 2000))) {
        throw new StepError("ui_changed", `${name} did not take ${value}`);
      }
      return;
    }
    if (matches(norm(control.textContent))) return;
    const menu = await openMenu(control);
    if (!menu) throw new StepError("ui_changed", `${name} did not open`);
    const items = [...menu.querySelectorAll('[role="menuitem"], [role="menuitemradio"], [role="option"]')];
    const item = items.find((i) => matches(norm(i.textContent)));
    if (!item) throw new StepError("ui_changed", `${name} has no ${value} option`);
    pick(item);
    if (!(await waitFor(() => matches(norm((locate().el || control).textContent)), 2000))) {
      throw new StepError("ui_changed", `${name} did not take ${value}`);
    }
  }

  async function applyOptions(options) {
    if (options.aspect_ratio) {
      await chooseIn(aspectButton, "aspect ratio menu", options.aspect_ratio, (t) => t === options.aspect_ratio);
    }
    if (options.resolution) {
      const want = String(options.resolution).toLowerCase();
      await chooseIn(resolutionControl, "resolution control", want, (t) => t.toLowerCase() === want);
    }
    if (options.duration) {
      const seconds = String(options.duration);
      await chooseIn(durationControl, "duration control", `${seconds}s`, (t) => (/^(\d+)/.exec(t) || [])[1] === seconds);
    }
    const preset = LABELS.presetNames[options.mode];
    if (preset) {
      // Normal is Grok's default: a page without the presets menu can still make it.
      if (options.mode === "normal" && !presetButton().el) return;
      await chooseIn(presetButton, "video presets menu", options.mode, (t) => oneOf(preset, t));
    }
  }

  async function attachImage(file) {
    const input = await need(fileInput, "image upload input");
    const images = () => [...(form() || document).querySelectorAll("img")].filter(visible);
    const before = new Set(images());
    const transfer = new DataTransfer();
    transfer.items.add(file);
    input.files = transfer.files;
    if (input.files.length !== 1) throw new StepError("ui_changed", "image upload input did not take the file");
    input.dispatchEvent(new Event("input", { bubbles: true }));
    input.dispatchEvent(new Event("change", { bubbles: true }));
    // Attached only when the page shows it has the image: a preview in the form, or the image's post page
    // (early 2026), with no upload spinner left and a prompt box to type into.
    const shown = () => images().some((img) => !before.has(img)) || onPostPage();
    if (!(await waitFor(() => shown() && !uploading() && promptBox().el, 20000))) {
      const what = !shown() ? "image preview not found after uploading the image" : "the image upload did not finish";
      throw new StepError("ui_changed", what);
    }
  }

  // An upload or page load still in progress: a spinner or busy marker on screen.
  function uploading() {
    const spinners = '[role="progressbar"], [aria-busy="true"], .animate-spin, svg.lucide-loader, svg.lucide-loader-circle, svg.lucide-loader-2';
    // Around the prompt form only: a quota bar or a loading feed elsewhere on the page is not this upload.
    const scope = form() || document;
    return [...scope.querySelectorAll(spinners)].some(visible);
  }

  const promptText = (box) => norm(box.tagName === "TEXTAREA" ? box.value : box.innerText || box.textContent);

  // Setting textContent does not reach the editor's state; these paths do, tried in order and verified.
  const PROMPT_METHODS = [
    ["insertText", (box, text) => document.execCommand("insertText", false, text)],
    [
      "beforeinput",
      (box, text) => {
        const event = new InputEvent("beforeinput", { inputType: "insertText", data: text, bubbles: true, cancelable: true });
        if (box.dispatchEvent(event)) document.execCommand("insertText", false, text);
        box.dispatchEvent(new InputEvent("input", { inputType: "insertText", data: text, bubbles: true }));
      },
    ],
    [
      "paste",
      (box, text) => {
        const data = new DataTransfer();
        data.setData("text/plain", text);
        box.dispatchEvent(new ClipboardEvent("paste", { clipboardData: data, bubbles: true, cancelable: true }));
      },
    ],
  ];

  function selectAll(box) {
    box.focus();
    if (box.tagName === "TEXTAREA") {
      box.select();
      return;
    }
    const range = document.createRange();
    range.selectNodeContents(box);
    const selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }

  async function typePrompt(text) {
    return typeInto(await need(promptBox, "prompt box"), text);
  }

  async function typeInto(box, text) {
    const want = norm(text);
    if (box.tagName === "TEXTAREA") {
      // A React-controlled textarea only sees values set through the native setter.
      const setter = Object.getOwnPropertyDescriptor(HTMLTextAreaElement.prototype, "value").set;
      setter.call(box, text);
      box.dispatchEvent(new Event("input", { bubbles: true }));
      if (await waitFor(() => promptText(box) === want, 1000)) return "value setter";
      throw new StepError("ui_changed", "prompt box did not accept the text");
    }
    for (const [method, insert] of PROMPT_METHODS) {
      selectAll(box);
      document.execCommand("delete");
      insert(box, text);
      // The editor re-renders from its own state; only text that survives that really registered.
      if (await waitFor(() => promptText(box) === want, 700)) {
        box.blur();
        if (await waitFor(() => promptText(box.isConnected ? box : promptBox().el || box) === want, 300)) return method;
      }
    }
    throw new StepError("ui_changed", "prompt box did not accept the text");
  }

  // The prompt box a submit button sends: the nearest one around it (the main bar's, or a post page's own).
  function boxOf(button) {
    for (let el = button.parentElement; el; el = el.parentElement) {
      const box = [...el.querySelectorAll('[contenteditable="true"], textarea')].find(visible);
      if (box) return box;
    }
    return null;
  }

  function checkedLabel(control) {
    if (!control) return null;
    const radios = radiosOf(control);
    if (radios.length && !control.matches("button")) return labelOf(radios.find(isChecked) || radios[0]);
    return norm(control.textContent);
  }

  // What the page's controls show now; null where a control is not on this page (a post page has fewer).
  function shownOptions() {
    const duration = checkedLabel(durationControl().el);
    return {
      aspect_ratio: checkedLabel(aspectButton().el),
      resolution: checkedLabel(resolutionControl().el)?.toLowerCase() ?? null,
      duration: duration === null ? null : Number((/^(\d+)/.exec(duration) || [])[1]) || null,
      mode: presetButton().el ? checkedLabel(presetButton().el) : null,
    };
  }

  // Every way the page differs from what the job asked for, for the box this button submits.
  function differences(button, prompt, options, media) {
    const found = [];
    const box = boxOf(button);
    if (!box) return ["the submit button has no prompt box beside it"];
    const text = promptText(box);
    if (text !== norm(prompt)) found.push(`the box being submitted holds "${text.slice(0, 80)}", not the job's prompt`);
    const radio = (media === "image" ? imageRadio : videoRadio)().el;
    if (modeGroup().el && radio && !isChecked(radio)) found.push(`the generation mode is not ${media === "image" ? "Image" : "Video"}`);
    const shown = shownOptions();
    for (const name of ["aspect_ratio", "resolution", "duration"]) {
      const want = options[name];
      if (want == null || shown[name] === null) continue;
      if (String(shown[name]).toLowerCase() !== String(want).toLowerCase()) found.push(`${name} shows ${shown[name]}, not ${want}`);
    }
    const preset = LABELS.presetNames[options.mode];
    if (preset && shown.mode !== null && !oneOf(preset, shown.mode)) found.push(`the preset shows ${shown.mode}, not ${options.mode}`);
    return found;
  }

  // Submit only what was checked on the page: the prompt in the box this button sends, the mode, the options.
  // A difference is put right once; if it persists the job fails ui_changed, naming it.
  async function submitChecked(prompt, options, locateButton = submitButton, media = "video") {
    for (let attempt = 1; ; attempt += 1) {
      const button = await need(locateButton, "submit button");
      const found = differences(button, prompt, options, media);
      // Press exactly the button that was checked; if the page replaced it meanwhile, check again.
      if (!found.length && (await pressWhenEnabled(button))) return button;
      if (!found.length && attempt < 3) continue;
      if (!found.length) throw new StepError("ui_changed", "the submit button kept changing before it could be pressed");
      if (attempt > 1) throw new StepError("ui_changed", `Not submitted: ${found.join("; ")}`);
      const box = boxOf(button);
      if (found.some((d) => d.startsWith("the generation mode"))) await chooseMode(media);
      if (found.some((d) => / shows /.test(d))) await applyOptions(options);
      if (box && promptText(box) !== norm(prompt)) await typeInto(box, prompt);
    }
  }

  // Press `button` once it is enabled; false if it left the page first (a new page replaced it).
  async function pressWhenEnabled(button) {
    const ready = await waitFor(() => {
      if (!button.isConnected) return "gone";
      return !button.disabled && button.getAttribute("aria-disabled") !== "true" ? "ready" : null;
    }, 5000);
    if (ready === "gone") return false;
    if (!ready) throw new StepError("ui_changed", "submit button stayed disabled");
    if (button.matches('button[type="submit"]')) button.click();
    else pick(button);
    return true;
  }

  // Fallback when a click did not start anything: submit the form the way the page does.
  function submitForm() {
    const scope = form();
    if (scope && scope.tagName === "FORM") {
      scope.requestSubmit();
      return true;
    }
    return false;
  }

  async function goBack() {
    if (!onPostPage()) return true;
    const back = backButton().el;
    if (!back) return false;
    pick(back);
    return Boolean(await waitFor(() => !onPostPage(), 3000));
  }

  globalThis.GrokAdapter = {
    StepError,
    sleep,
    waitFor,
    chooseVideoMode,
    chooseMode,
    applyOptions,
    attachImage,
    typePrompt,
    typeInto,
    submitChecked,
    resultVideos,
    markImages,
    resultImages,
    postId,
    readAbilities,
    readPostAbilities,
    canUpscale,
    startUpscale,
    hdVideoUrl,
    boxOf,
    postVideo,
    postMissing,
    prepareExtend,
    extendConfirm,
    uploading,
    shownOptions,
    submitForm,
    goBack,
    LABELS,
    norm,
    oneOf,
    labelOf,
    visible,
    isChecked,
    radiosOf,
    promptBox,
    form,
    submitButton,
    modeGroup,
    videoRadio,
    imageRadio,
    resolutionControl,
    durationControl,
    aspectButton,
    presetButton,
    fileInput,
    backButton,
    failure,
    pageProblem,
    markSeen,
    hiddenResult,
    progress,
    allVideoUrls,
    newVideos,
    survey,
    onPostPage,
    diagnose,
  };
})();
