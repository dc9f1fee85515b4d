"""The message catalogue: every sentence the user reads, in each supported language.

Plain words, no jargon: the person approving a paid generation may not be a
developer. ``text(lang, key, **params)`` falls back to English for a language
or key we do not have. Image URLs are never translated or reformatted.
"""

from __future__ import annotations

from typing import Any

DEFAULT_LANGUAGE = "en"
SUPPORTED_LANGUAGES = ("en", "zh", "ja", "ko", "es", "pt")

TEXTS: dict[str, dict[str, str]] = {
    "en": {
        # clarify
        "ask_prompt": "What image would you like me to create? Describe the subject, "
        "the style and the setting.",
        "offer_refinement": "Your description “{prompt}” is quite short. I can make it more "
        "detailed:\n“{suggestion}”\nReply “keep” to use yours as it is, “use” to take my "
        "suggestion, or write your own version.",
        # confirm
        "confirm_title": "Ready to generate {n_images} with {model} at {resolution} resolution.",
        "n_images_one": "1 image",
        "n_images_many": "{n} images",
        "confirm_aspect": "Aspect ratio: {aspect_ratio}.",
        "confirm_refs": "Reference images: {names}.",
        "confirm_cost": "Estimated cost: {credits} credits.",
        "confirm_cost_unknown": "The cost could not be estimated in advance.",
        "confirm_prompt": "Prompt: “{prompt}”",
        "confirm_question": "Shall I go ahead? This uses your CreatOK credits.",
        "answer_yes_no": "(yes/no)",
        "edit_invalid": "That change can't be used: {reason}",
        "confirm_malformed": "That answer can't be used ({reason}). Nothing has been generated or charged yet.",
        "confirm_unclear": "I didn't understand “{answer}”. Nothing has been generated or "
        "charged yet.",
        # outcome
        "succeeded": "Done! Here are your images:",
        "succeeded_one": "Done! Here is your image:",
        "still_running": "Your images are still being made (task {task_id}, status: {status}). "
        "Ask me to check again whenever you like, or let me keep waiting.",
        "timed_out": "Your images are still being made after {seconds} seconds, so I stopped "
        "waiting. Nothing is lost: the task id is {task_id}; ask me to check it again later.",
        "failed": "Sorry, the image generation failed: {reason}. You can try again, perhaps "
        "with a simpler description or another model.",
        "failed_no_reason": "no reason was given",
        "cancelled": "Okay, I did not generate anything and nothing was charged.",
        "cancelled_reason": "Okay, I did not generate anything and nothing was charged "
        "({reason}).",
        # problems
        "invalid_request": "I can't send this request: {reason}. Nothing was charged.",
        "auth_error": "Your CreatOK API key is missing or not valid. Create one at {url} and "
        "set it as CREATOK_API_KEY.",
        "connection_error": "I couldn't reach CreatOK. Please check the connection and try "
        "again.",
        "server_error": "CreatOK is having trouble right now. Please try again later.",
        "rate_limited": "CreatOK is busy right now. Please wait a minute and try again.",
        "api_error": "CreatOK refused the request: {message}",
        "contract_error": "CreatOK answered in a way this integration does not understand, so I "
        "stopped before anything was charged. This integration may need an update.",
        "invalid_response": "CreatOK's answer could not be read; the service address may be "
        "wrong or a proxy may be in the way.",
        "not_found": "CreatOK could not find that task. Please check the task id.",
        "upload_error": "A reference image could not be uploaded. Nothing was charged; please "
        "try again.",
        "unexpected_error": "Something went wrong: {message}",
        "task_id_note": "Task id: {task_id}",
        "outdated_hint": "This has failed several times now; the local CreatOK integration may "
        "be outdated. Consider updating it.",
        "unknown_outcome": "I sent the generation request, but the connection broke before "
        "CreatOK answered, so it may already have been charged. Please check your recent "
        "tasks at https://www.creatok.ai before trying again. Reply “retry” to send it again "
        "(this may charge a second time) or “stop” to stop here.",
        "details": "Details: {details}",
        "invalid_artifacts_dir": "results cannot be written to {value}; choose another artifacts folder (CREATOK_ARTIFACTS_DIR or --artifacts-dir)",
        "confirm_cost_one": "Estimated cost: 1 credit.",
        "unknown_outcome_stopped": "Okay, I stopped and sent nothing more. The earlier request may already have been charged: check your recent tasks at https://www.creatok.ai.",
        "maybe_charged": "CreatOK may have accepted the request without confirming it, so it may already have been charged. Check your recent tasks at https://www.creatok.ai before trying again.",
        "invalid_prompt_empty": "the description is empty; say what the image should show",
        "invalid_model_unknown": "there is no model called {value}; choose one of {allowed}",
        "invalid_resolution_unknown": "{model} does not offer resolution {value}; choose {allowed}",
        "invalid_n_range": "the number of images must be between {min} and {max}",
        "invalid_aspect_ratio_unknown": "{model} does not offer aspect ratio {value}; choose {allowed}",
        "invalid_too_many_references": "{model} takes at most {max} reference images, and {count} were given",
        "invalid_reference_type": "{name} is not an image type CreatOK accepts; use {allowed}",
        "invalid_reference_missing": "the reference image {name} was not found",
        "invalid_reference_unreadable": "the reference image {name} cannot be read",
        "invalid_reference_empty": "the reference image {name} is empty",
        "invalid_run_id": "the run id {value} cannot be used as a folder name; use letters, digits, '.', '_' or '-'",
        "invalid_run_id_used": "the run id {value} was already used for a different request; choose another one",
        "cli_sandbox_banner": "Sandbox: using the local CreatOK emulator at {url}. Images are placeholders and nothing is charged; their links stop working when this command ends.",
        "cli_no_key": "No CreatOK API key found. Create one at {url} and set CREATOK_API_KEY, or try it locally with --sandbox (placeholder images, nothing charged).",
        "cli_interrupted": "Interrupted. Nothing is lost: run “{command}” to continue.",
        "cli_interrupted_task": "Interrupted while task {task_id} is being made. Nothing is lost: run “{command}” to continue, or “{recover}”.",
        "cli_results": "Results saved in {path}",
        "cli_submitted": "submitted: task {task_id}",
        "cli_status": "status: {status} ({elapsed:.1f}s)",
        "cli_upload": "uploading reference image {index}/{total}",
        "cli_continuing": "Continuing run {run_id}.",
        "cli_continuing_task": "Continuing run {run_id} (task {task_id}).",
        "cli_finished_earlier": "Run {run_id} finished earlier; here is its result again. Leave out --run-id (or choose a new one) to make new images.",
        "cli_check_again": "Check again with `creatok-image --task-id {task_id}`, or wait for it with `creatok-image --task-id {task_id} --wait`.",
        "cli_interrupted_sending": "Interrupted while the request was being sent, so it may have been charged. Run `creatok-image --run-id {run_id}` to check: it never sends a request twice without asking.",
        "cli_finishing_submit": "Waiting for CreatOK to confirm the request so that its task id is saved (press Ctrl-C again to quit at once)...",
        "cli_bad_store": "The results folder {path} cannot be used ({reason}). Choose another one with --artifacts-dir or CREATOK_ARTIFACTS_DIR.",
        "cli_unexpected": "Something went wrong ({error}). Run again with -v for details.",
        "cli_positive_seconds": "must be a number of seconds greater than 0, e.g. 30",
        "invalid_message_image_remote": "image {index} of your message is a link, and links are not opened; attach the picture itself",
        "invalid_message_image_too_large": "image {index} of your message is larger than {max_mb} MB",
        "invalid_message_image_undecodable": "image {index} of your message could not be read",
        "invalid_message_image_type": "image {index} of your message is not a PNG, JPEG, WebP or GIF picture",
        "invalid_message_image_empty": "image {index} of your message is empty",
        # issue 13: every failure tells the truth (keep this block together)
        "cli_still_running": "Still running: I stopped waiting, the task {task_id} goes on. Continue waiting for the same task (no new charge) with `{command}`.",
        "cli_busy": "Run {run_id} is being handled by another creatok-image process right now, so this one sent nothing. See its result later with `{command}`.",
        "cli_retrying": "Run {run_id} ended earlier without a charge; asking again before sending it.",
        "rate_limited_after": "CreatOK is busy right now. Please wait {seconds} s and try again.",
        "server_error_after": "CreatOK is having trouble right now. Please wait {seconds} s and try again.",
        "connection_error_url": "I couldn't reach CreatOK at {url}. Please check the connection and the service address (CREATOK_BASE_URL), then try again.",
        "endpoint_not_found": "{url} does not exist, so the service address (CREATOK_BASE_URL) looks wrong. Nothing was charged.",
        "task_not_found": "CreatOK could not find task {task_id} ({url}). Please check the task id and the service address.",
        "contract_error_field": "CreatOK answered in a way this integration does not understand ({field}), so I stopped before anything was charged. This integration may need an update.",
        "unknown_outcome_unreadable": "I sent the generation request, and CreatOK answered with something that is not its usual JSON (a proxy or a wrong service address may be in the way), so I can't tell whether it was accepted: it may already have been charged. Please check your recent tasks at https://www.creatok.ai before trying again. Reply “retry” to send it again (this may charge a second time) or “stop” to stop here.",
        "upgrade_link": "Upgrade it at https://www.creatok.ai/agent-skills before trying again.",
    },
    "zh": {
        # clarify
        "ask_prompt": "你想让我生成什么样的图片？请描述一下画面主体、风格和场景。",
        "offer_refinement": "你的描述“{prompt}”有点简短，我可以帮你写得更详细一些：\n"
        "“{suggestion}”\n回复“保留”就按你原来的描述生成，回复“使用”就采用我的建议，"
        "你也可以直接写一个自己的版本。",
        # confirm
        "confirm_title": "准备用 {model} 生成 {n_images}，分辨率为 {resolution}。",
        "n_images_one": "1 张图片",
        "n_images_many": "{n} 张图片",
        "confirm_aspect": "画面比例：{aspect_ratio}。",
        "confirm_refs": "参考图片：{names}。",
        "confirm_cost": "预计花费：{credits} 积分。",
        "confirm_cost_unknown": "暂时无法提前估算费用。",
        "confirm_prompt": "描述：“{prompt}”",
        "confirm_question": "要开始生成吗？这会消耗你的 CreatOK 积分。",
        "answer_yes_no": "（是/否）",
        "edit_invalid": "这个修改没法使用：{reason}",
        "confirm_malformed": "这个回复无法使用（{reason}）。目前还没有生成图片，也没有扣费。",
        "confirm_unclear": "我没看懂“{answer}”。目前还没有生成图片，也没有扣费。",
        # outcome
        "succeeded": "完成啦！这是你的图片：",
        "succeeded_one": "完成啦！这是你的图片：",
        "still_running": "你的图片还在生成中（任务 {task_id}，状态：{status}）。"
        "你随时可以让我再查一次，也可以让我继续等。",
        "timed_out": "已经过了 {seconds} 秒，图片还在生成中，所以我先不等了。不用担心，"
        "什么都不会丢：任务编号是 {task_id}，稍后让我再查一次就好。",
        "failed": "抱歉，图片生成失败了：{reason}。你可以再试一次，或许可以换个更简单的描述，"
        "或者换一个模型。",
        "failed_no_reason": "没有说明原因",
        "cancelled": "好的，我什么都没有生成，也没有扣任何费用。",
        "cancelled_reason": "好的，我什么都没有生成，也没有扣任何费用（{reason}）。",
        # problems
        "invalid_request": "这个请求没法发送：{reason}。没有扣任何费用。",
        "auth_error": "缺少 CreatOK API 密钥，或者密钥无效。请在 {url} 创建一个，并把它设置为 "
        "CREATOK_API_KEY。",
        "connection_error": "连接不上 CreatOK。请检查一下网络连接，然后再试一次。",
        "server_error": "CreatOK 现在出了点问题，请稍后再试。",
        "rate_limited": "CreatOK 现在有点忙，请等一分钟再试。",
        "api_error": "CreatOK 拒绝了这个请求：{message}",
        "contract_error": "CreatOK 返回的内容我看不懂，所以我在扣费之前就停下了。"
        "这个工具可能需要更新了。",
        "invalid_response": "无法读取 CreatOK 的回复；可能是服务地址不对，或者中间有代理拦住了。",
        "not_found": "CreatOK 找不到这个任务，请检查一下任务编号。",
        "upload_error": "有一张参考图片上传失败了。没有扣任何费用，请再试一次。",
        "unexpected_error": "出了点问题：{message}",
        "task_id_note": "任务编号：{task_id}",
        "outdated_hint": "已经连续失败好几次了，你本地的 CreatOK 工具可能版本太旧，建议更新一下。",
        "unknown_outcome": "生成请求已经发出去了，但在 CreatOK 回复之前连接断开了，"
        "所以可能已经扣费。再试之前，请先到 https://www.creatok.ai 看看你最近的任务。"
        "回复“重试”会重新发送（可能会再扣一次费），回复“停止”就到此为止。",
        "details": "详细信息：{details}",
        "invalid_artifacts_dir": "无法把结果写入 {value}，请换一个结果文件夹（CREATOK_ARTIFACTS_DIR 或 --artifacts-dir）",
        "confirm_cost_one": "预计花费：1 积分。",
        "unknown_outcome_stopped": "好的，我已停止，没有再发送任何请求。之前那次请求可能已经扣费，请到 https://www.creatok.ai 查看最近的任务。",
        "maybe_charged": "CreatOK 可能已经接受了这次请求但没有确认，所以可能已经扣费。再试之前，请先到 https://www.creatok.ai 查看最近的任务。",
        "invalid_prompt_empty": "描述是空的，请说明图片要画什么",
        "invalid_model_unknown": "没有名为 {value} 的模型，请从以下选择：{allowed}",
        "invalid_resolution_unknown": "{model} 不提供 {value} 分辨率，请选择：{allowed}",
        "invalid_n_range": "图片数量必须在 {min} 到 {max} 之间",
        "invalid_aspect_ratio_unknown": "{model} 不提供 {value} 宽高比，请选择：{allowed}",
        "invalid_too_many_references": "{model} 最多接受 {max} 张参考图，你提供了 {count} 张",
        "invalid_reference_type": "{name} 不是 CreatOK 接受的图片格式，请使用：{allowed}",
        "invalid_reference_missing": "找不到参考图 {name}",
        "invalid_reference_unreadable": "无法读取参考图 {name}",
        "invalid_reference_empty": "参考图 {name} 是空文件",
        "invalid_run_id": "运行编号 {value} 不能用作文件夹名，请只用字母、数字、“.”、“_”或“-”",
        "invalid_run_id_used": "运行编号 {value} 已用于另一个请求，请换一个",
        "cli_sandbox_banner": "沙盒模式：正在使用本地 CreatOK 模拟器 {url}。图片只是占位图，不会扣费；命令结束后，图片链接就会失效。",
        "cli_no_key": "没有找到 CreatOK API 密钥。请在 {url} 创建一个并设置 CREATOK_API_KEY，或者先用 --sandbox 在本地试用（占位图片，不扣费）。",
        "cli_interrupted": "已中断，没有任何丢失：运行“{command}”即可继续。",
        "cli_interrupted_task": "已中断，任务 {task_id} 仍在生成中，没有任何丢失：运行“{command}”继续，或运行“{recover}”。",
        "cli_results": "结果已保存到 {path}",
        "cli_submitted": "已提交：任务 {task_id}",
        "cli_status": "状态：{status}（{elapsed:.1f} 秒）",
        "cli_upload": "正在上传参考图片 {index}/{total}",
        "cli_continuing": "继续运行 {run_id}。",
        "cli_continuing_task": "继续运行 {run_id}（任务 {task_id}）。",
        "cli_finished_earlier": "运行 {run_id} 之前已经完成，下面再显示一次结果。如果要生成新图片，请去掉 --run-id（或换一个新的）。",
        "cli_check_again": "可以用 `creatok-image --task-id {task_id}` 再查一次，或者用 `creatok-image --task-id {task_id} --wait` 等它完成。",
        "cli_interrupted_sending": "请求发送过程中被中断，所以可能已经扣费。请运行 `creatok-image --run-id {run_id}` 查看：未经你同意，它绝不会把请求发送两次。",
        "cli_finishing_submit": "正在等待 CreatOK 确认请求，以便保存任务编号（再按一次 Ctrl-C 可立即退出）……",
        "cli_bad_store": "结果文件夹 {path} 无法使用（{reason}）。请用 --artifacts-dir 或 CREATOK_ARTIFACTS_DIR 换一个。",
        "cli_unexpected": "出了点问题（{error}）。加上 -v 重新运行可以查看详细信息。",
        "cli_positive_seconds": "必须是大于 0 的秒数，例如 30",
        "invalid_message_image_remote": "你消息里的第 {index} 张图片是一个链接，我不会打开链接，请直接附上图片",
        "invalid_message_image_too_large": "你消息里的第 {index} 张图片超过了 {max_mb} MB",
        "invalid_message_image_undecodable": "无法读取你消息里的第 {index} 张图片",
        "invalid_message_image_type": "你消息里的第 {index} 张图片不是 PNG、JPEG、WebP 或 GIF 格式",
        "invalid_message_image_empty": "你消息里的第 {index} 张图片是空的",
        # issue 13: every failure tells the truth (keep this block together)
        "cli_still_running": "仍在生成中：我先不等了，任务 {task_id} 会继续进行。运行 `{command}` 可继续等待同一个任务（不会再次扣费）。",
        "cli_busy": "运行 {run_id} 正由另一个 creatok-image 进程处理，所以这个进程什么都没有发送。稍后可以用 `{command}` 查看结果。",
        "cli_retrying": "运行 {run_id} 之前结束时没有扣费；在重新发送之前再确认一次。",
        "rate_limited_after": "CreatOK 现在有点忙，请等 {seconds} 秒再试。",
        "server_error_after": "CreatOK 现在出了点问题，请等 {seconds} 秒再试。",
        "connection_error_url": "无法连接到 CreatOK（{url}）。请检查网络连接和服务地址（CREATOK_BASE_URL），然后再试一次。",
        "endpoint_not_found": "{url} 不存在，服务地址（CREATOK_BASE_URL）似乎不对。没有扣任何费用。",
        "task_not_found": "CreatOK 找不到任务 {task_id}（{url}）。请检查任务编号和服务地址。",
        "contract_error_field": "CreatOK 返回的内容我看不懂（{field}），所以我在扣费之前就停下了。这个工具可能需要更新了。",
        "unknown_outcome_unreadable": "生成请求已经发出去了，但 CreatOK 的回复不是通常的 JSON（可能有代理拦截，或者服务地址不对），所以无法确定请求是否被接受，可能已经扣费。再试之前，请先到 https://www.creatok.ai 看看你最近的任务。回复“重试”会重新发送（可能会再扣一次费），回复“停止”就到此为止。",
        "upgrade_link": "请先到 https://www.creatok.ai/agent-skills 升级，再重试。",
    },
    "ja": {
        # clarify
        "ask_prompt": "どんな画像を作りましょうか？何を描くか、どんなスタイルか、"
        "どんな場面かを教えてください。",
        "offer_refinement": "「{prompt}」という説明は少し短めです。もっと詳しくするなら、"
        "こんな感じはいかがでしょう：\n「{suggestion}」\n"
        "ご自分の説明をそのまま使う場合は「そのまま」、"
        "私の案を使う場合は「使う」と返信してください。ご自分で書き直していただいてもかまいません。",
        # confirm
        "confirm_title": "{model}で{n_images}を生成する準備ができました（解像度：{resolution}）。",
        "n_images_one": "画像1枚",
        "n_images_many": "画像{n}枚",
        "confirm_aspect": "縦横比：{aspect_ratio}",
        "confirm_refs": "参考画像：{names}",
        "confirm_cost": "費用の目安：{credits}クレジット",
        "confirm_cost_unknown": "費用を事前に見積もることができませんでした。",
        "confirm_prompt": "画像の説明：「{prompt}」",
        "confirm_question": "このまま進めてもよろしいですか？CreatOKのクレジットを使用します。",
        "answer_yes_no": "（はい／いいえ）",
        "edit_invalid": "その変更は使えません：{reason}",
        "confirm_malformed": "そのお返事は使えません（{reason}）。まだ何も生成しておらず、課金もされていません。",
        "confirm_unclear": "「{answer}」というお返事がよくわかりませんでした。まだ何も生成しておらず、"
        "料金もかかっていません。",
        # outcome
        "succeeded": "できました！画像はこちらです：",
        "succeeded_one": "できました！画像はこちらです：",
        "still_running": "画像はまだ作成中です（タスク {task_id}、状態：{status}）。"
        "確認したくなったらいつでも声をかけてください。このままお待ちすることもできます。",
        "timed_out": "{seconds}秒たっても画像がまだ作成中なので、いったん待つのをやめました。"
        "何も失われていません。タスクIDは {task_id} です。"
        "あとでもう一度確認するよう声をかけてください。",
        "failed": "申し訳ありません、画像を生成できませんでした：{reason}。もう一度お試しください。"
        "説明をもっとシンプルにするか、別のモデルを使うとうまくいくかもしれません。",
        "failed_no_reason": "理由は示されませんでした",
        "cancelled": "わかりました。何も生成しておらず、料金もかかっていません。",
        "cancelled_reason": "わかりました。何も生成しておらず、"
        "料金もかかっていません（{reason}）。",
        # problems
        "invalid_request": "このリクエストは送信できません：{reason}。料金はかかっていません。",
        "auth_error": "CreatOKのAPIキーが設定されていないか、無効です。{url} でキーを作成し、"
        "CREATOK_API_KEY に設定してください。",
        "connection_error": "CreatOKに接続できませんでした。接続を確認して、"
        "もう一度お試しください。",
        "server_error": "現在CreatOKで問題が起きているようです。"
        "しばらくしてからもう一度お試しください。",
        "rate_limited": "現在CreatOKが混み合っています。1分ほど待ってから、"
        "もう一度お試しください。",
        "api_error": "CreatOKにリクエストを断られました：{message}",
        "contract_error": "CreatOKからの返事をこのツールが理解できなかったため、"
        "料金が発生する前に止めました。このツールの更新が必要かもしれません。",
        "invalid_response": "CreatOKからの返事を読み取れませんでした。"
        "サービスのアドレスが間違っているか、プロキシが邪魔をしている可能性があります。",
        "not_found": "CreatOKでそのタスクが見つかりませんでした。タスクIDを確認してください。",
        "upload_error": "参考画像をアップロードできませんでした。料金はかかっていませんので、"
        "もう一度お試しください。",
        "unexpected_error": "問題が発生しました：{message}",
        "task_id_note": "タスクID：{task_id}",
        "outdated_hint": "何度も失敗が続いています。"
        "お使いのCreatOK連携ツールが古くなっている可能性があるので、更新をご検討ください。",
        "unknown_outcome": "生成のリクエストは送信しましたが、"
        "CreatOKから返事が来る前に接続が切れたため、すでに料金が発生している可能性があります。"
        "もう一度試す前に、https://www.creatok.ai で最近のタスクを確認してください。"
        "もう一度送信する場合は「再試行」（料金が二重にかかる可能性があります）、"
        "ここでやめる場合は「やめる」と返信してください。",
        "details": "詳細：{details}",
        "invalid_artifacts_dir": "{value} に結果を書き込めません。別の保存先フォルダを指定してください（CREATOK_ARTIFACTS_DIR または --artifacts-dir）",
        "confirm_cost_one": "費用の目安：1クレジット",
        "unknown_outcome_stopped": "わかりました。ここで止めて、これ以上は送信していません。前のリクエストはすでに課金されている可能性があります。https://www.creatok.ai で最近のタスクを確認してください。",
        "maybe_charged": "CreatOK がリクエストを受け付けたものの確認が返ってこなかったため、すでに課金されている可能性があります。やり直す前に https://www.creatok.ai で最近のタスクを確認してください。",
        "invalid_prompt_empty": "説明が空です。どんな画像にしたいか書いてください",
        "invalid_model_unknown": "{value} というモデルはありません。次から選んでください：{allowed}",
        "invalid_resolution_unknown": "{model} では解像度 {value} を選べません。次から選んでください：{allowed}",
        "invalid_n_range": "画像の枚数は {min} から {max} の間にしてください",
        "invalid_aspect_ratio_unknown": "{model} ではアスペクト比 {value} を選べません。次から選んでください：{allowed}",
        "invalid_too_many_references": "{model} の参考画像は最大 {max} 枚ですが、{count} 枚指定されています",
        "invalid_reference_type": "{name} は CreatOK が受け付ける画像形式ではありません。次を使ってください：{allowed}",
        "invalid_reference_missing": "参考画像 {name} が見つかりません",
        "invalid_reference_unreadable": "参考画像 {name} を読み込めません",
        "invalid_reference_empty": "参考画像 {name} は空のファイルです",
        "invalid_run_id": "実行 ID {value} はフォルダ名に使えません。英数字、「.」「_」「-」だけを使ってください",
        "invalid_run_id_used": "実行 ID {value} は別のリクエストで使われています。別の ID にしてください",
        "cli_sandbox_banner": "サンドボックス：ローカルの CreatOK エミュレーター {url} を使っています。画像はダミーで、料金はかかりません。画像のリンクはこのコマンドが終わると使えなくなります。",
        "cli_no_key": "CreatOK の API キーが見つかりません。{url} で作成して CREATOK_API_KEY に設定するか、--sandbox でローカルに試してください（ダミー画像、料金なし）。",
        "cli_interrupted": "中断しました。何も失われていません。「{command}」で続きを実行できます。",
        "cli_interrupted_task": "タスク {task_id} の生成中に中断しました。何も失われていません。「{command}」で続けるか、「{recover}」を実行してください。",
        "cli_results": "結果の保存先：{path}",
        "cli_submitted": "送信しました：タスク {task_id}",
        "cli_status": "状態：{status}（{elapsed:.1f}秒）",
        "cli_upload": "参考画像をアップロードしています（{index}/{total}）",
        "cli_continuing": "実行 {run_id} を再開します。",
        "cli_continuing_task": "実行 {run_id} を再開します（タスク {task_id}）。",
        "cli_finished_earlier": "実行 {run_id} はすでに完了しているので、結果をもう一度表示します。新しい画像を作るには、--run-id を外すか別の ID を指定してください。",
        "cli_check_again": "`creatok-image --task-id {task_id}` でもう一度確認するか、`creatok-image --task-id {task_id} --wait` で完了まで待ってください。",
        "cli_interrupted_sending": "リクエストの送信中に中断したため、すでに課金されている可能性があります。`creatok-image --run-id {run_id}` を実行して確認してください。確認なしにリクエストを二重に送ることはありません。",
        "cli_finishing_submit": "タスク ID を保存するため、CreatOK がリクエストを確認するのを待っています（すぐに終了するにはもう一度 Ctrl-C を押してください）…",
        "cli_bad_store": "結果フォルダ {path} は使えません（{reason}）。--artifacts-dir または CREATOK_ARTIFACTS_DIR で別のフォルダを指定してください。",
        "cli_unexpected": "問題が発生しました（{error}）。詳しく見るには -v を付けてもう一度実行してください。",
        "cli_positive_seconds": "0 より大きい秒数を指定してください（例：30）",
        "invalid_message_image_remote": "メッセージの{index}枚目の画像はリンクです。リンクは開かないので、画像そのものを添付してください",
        "invalid_message_image_too_large": "メッセージの{index}枚目の画像が{max_mb} MBを超えています",
        "invalid_message_image_undecodable": "メッセージの{index}枚目の画像を読み取れませんでした",
        "invalid_message_image_type": "メッセージの{index}枚目の画像はPNG、JPEG、WebP、GIFのいずれでもありません",
        "invalid_message_image_empty": "メッセージの{index}枚目の画像が空です",
        # issue 13: every failure tells the truth (keep this block together)
        "cli_still_running": "まだ作成中です。待つのはやめましたが、タスク {task_id} は続いています。同じタスクを待ち続けるには `{command}` を実行してください（追加の料金はかかりません）。",
        "cli_busy": "実行 {run_id} は別の creatok-image プロセスが処理中のため、こちらからは何も送信していません。結果はあとで `{command}` で確認できます。",
        "cli_retrying": "実行 {run_id} は前回、課金なしで終了しました。送信する前にもう一度確認します。",
        "rate_limited_after": "現在CreatOKが混み合っています。{seconds}秒ほど待ってから、もう一度お試しください。",
        "server_error_after": "現在CreatOKで問題が起きているようです。{seconds}秒ほど待ってから、もう一度お試しください。",
        "connection_error_url": "CreatOK（{url}）に接続できませんでした。接続とサービスのアドレス（CREATOK_BASE_URL）を確認して、もう一度お試しください。",
        "endpoint_not_found": "{url} は存在しないため、サービスのアドレス（CREATOK_BASE_URL）が間違っているようです。料金はかかっていません。",
        "task_not_found": "CreatOKでタスク {task_id} が見つかりませんでした（{url}）。タスクIDとサービスのアドレスを確認してください。",
        "contract_error_field": "CreatOKの返答をこの連携ツールが理解できなかったため（{field}）、課金される前に止めました。このツールは更新が必要かもしれません。",
        "unknown_outcome_unreadable": "生成のリクエストは送信しましたが、CreatOKの返答がいつものJSONではありませんでした（プロキシやサービスのアドレスの誤りが原因かもしれません）。受け付けられたかどうか分からず、すでに課金されている可能性があります。もう一度試す前に、https://www.creatok.ai で最近のタスクを確認してください。再送信する場合は「再試行」（もう一度課金される可能性があります）、やめる場合は「停止」と返信してください。",
        "upgrade_link": "もう一度試す前に https://www.creatok.ai/agent-skills で更新してください。",
    },
    "ko": {
        # clarify
        "ask_prompt": "어떤 이미지를 만들어 드릴까요? 무엇을 그릴지, 스타일과 배경을 알려 주세요.",
        "offer_refinement": "입력하신 설명이 조금 짧아요: “{prompt}”\n"
        "더 자세하게 바꿔 드릴 수 있어요:\n“{suggestion}”\n"
        "원래 설명을 그대로 쓰시려면 “유지”, 제 제안을 쓰시려면 “사용”이라고 답해 주세요. 직접 "
        "새로 써 주셔도 좋아요.",
        # confirm
        "confirm_title": "{model} 모델로 {resolution} 해상도의 {n_images}을 만들 준비가 됐어요.",
        "n_images_one": "이미지 1장",
        "n_images_many": "이미지 {n}장",
        "confirm_aspect": "화면 비율: {aspect_ratio}",
        "confirm_refs": "참고 이미지: {names}",
        "confirm_cost": "예상 비용: {credits} 크레딧",
        "confirm_cost_unknown": "비용을 미리 예상할 수 없었어요.",
        "confirm_prompt": "이미지 설명: “{prompt}”",
        "confirm_question": "진행할까요? CreatOK 크레딧이 사용돼요.",
        "answer_yes_no": "(네/아니요)",
        "edit_invalid": "그 변경 사항은 적용할 수 없어요: {reason}",
        "confirm_malformed": "그 답은 사용할 수 없어요({reason}). 아직 아무것도 만들지 않았고 요금도 청구되지 않았어요.",
        "confirm_unclear": "“{answer}”라는 답을 이해하지 못했어요. 아직 아무것도 만들지 않았고 "
        "요금도 청구되지 않았어요.",
        # outcome
        "succeeded": "완성됐어요! 이미지를 확인해 보세요:",
        "succeeded_one": "완성됐어요! 이미지를 확인해 보세요:",
        "still_running": "이미지를 아직 만들고 있어요(작업 {task_id}, 상태: {status}). 원하실 때 "
        "언제든 다시 확인해 달라고 말씀해 주세요. 이대로 계속 기다릴 수도 있어요.",
        "timed_out": "{seconds}초가 지났는데도 이미지를 아직 만들고 있어서 기다리기를 멈췄어요. "
        "잃어버린 건 없어요(작업 ID: {task_id}). 나중에 다시 확인해 달라고 말씀해 주세요.",
        "failed": "죄송해요, 이미지를 만들지 못했어요: {reason}. 더 간단한 설명이나 다른 모델로 "
        "다시 시도해 보세요.",
        "failed_no_reason": "이유가 전달되지 않았어요",
        "cancelled": "알겠어요. 아무것도 만들지 않았고 비용도 청구되지 않았어요.",
        "cancelled_reason": "알겠어요. 아무것도 만들지 않았고 비용도 청구되지 않았어요({reason}).",
        # problems
        "invalid_request": "이 요청은 보낼 수 없어요: {reason}. 비용은 청구되지 않았어요.",
        "auth_error": "CreatOK API 키가 없거나 올바르지 않아요. {url} 에서 키를 만든 다음 "
        "CREATOK_API_KEY로 설정해 주세요.",
        "connection_error": "CreatOK에 연결할 수 없었어요. 인터넷 연결을 확인하고 다시 시도해 "
        "주세요.",
        "server_error": "지금 CreatOK 서비스에 문제가 있어요. 잠시 후 다시 시도해 주세요.",
        "rate_limited": "지금 CreatOK 서비스가 바빠요. 1분 정도 기다렸다가 다시 시도해 주세요.",
        "api_error": "CreatOK에서 요청을 거절했어요: {message}",
        "contract_error": "CreatOK의 응답을 이 도구가 이해하지 못해서, 비용이 청구되기 전에 "
        "멈췄어요. 이 도구를 업데이트해야 할 수도 있어요.",
        "invalid_response": "CreatOK의 응답을 읽을 수 없었어요. 서비스 주소가 잘못됐거나 프록시가 "
        "중간에서 방해하고 있을 수 있어요.",
        "not_found": "CreatOK에서 그 작업을 찾을 수 없어요. 작업 ID를 확인해 주세요.",
        "upload_error": "참고 이미지를 올리지 못했어요. 비용은 청구되지 않았으니 다시 시도해 "
        "주세요.",
        "unexpected_error": "문제가 생겼어요: {message}",
        "task_id_note": "작업 ID: {task_id}",
        "outdated_hint": "벌써 여러 번 실패했어요. 사용 중인 CreatOK 연동 도구가 오래된 버전일 수 "
        "있으니 업데이트해 보세요.",
        "unknown_outcome": "생성 요청은 보냈지만 CreatOK의 응답을 받기 전에 연결이 끊겨서, 이미 "
        "비용이 청구됐을 수도 있어요. 다시 시도하기 전에 https://www.creatok.ai 에서 최근 작업을 "
        "확인해 주세요. 다시 보내시려면 “다시 시도”(비용이 한 번 더 청구될 수 있어요), 여기서 "
        "멈추시려면 “중지”라고 답해 주세요.",
        "details": "자세한 내용: {details}",
        "invalid_artifacts_dir": "{value}에 결과를 저장할 수 없습니다. 다른 결과 폴더를 지정하세요(CREATOK_ARTIFACTS_DIR 또는 --artifacts-dir)",
        "confirm_cost_one": "예상 비용: 1 크레딧",
        "unknown_outcome_stopped": "알겠어요. 여기서 멈추고 더 이상 보내지 않았어요. 이전 요청은 이미 요금이 청구됐을 수 있으니 https://www.creatok.ai 에서 최근 작업을 확인해 주세요.",
        "maybe_charged": "CreatOK가 요청을 받았지만 확인을 보내지 않아 이미 요금이 청구됐을 수 있어요. 다시 시도하기 전에 https://www.creatok.ai 에서 최근 작업을 확인해 주세요.",
        "invalid_prompt_empty": "설명이 비어 있습니다. 어떤 이미지를 원하는지 적어 주세요",
        "invalid_model_unknown": "{value}(이)라는 모델은 없습니다. 다음 중에서 고르세요: {allowed}",
        "invalid_resolution_unknown": "{model}은(는) {value} 해상도를 지원하지 않습니다. 다음 중에서 고르세요: {allowed}",
        "invalid_n_range": "이미지 수는 {min}에서 {max} 사이여야 합니다",
        "invalid_aspect_ratio_unknown": "{model}은(는) {value} 화면 비율을 지원하지 않습니다. 다음 중에서 고르세요: {allowed}",
        "invalid_too_many_references": "{model}은(는) 참고 이미지를 최대 {max}장까지 받는데 {count}장이 주어졌습니다",
        "invalid_reference_type": "{name}은(는) CreatOK가 받는 이미지 형식이 아닙니다. 다음을 사용하세요: {allowed}",
        "invalid_reference_missing": "참고 이미지 {name}을(를) 찾을 수 없습니다",
        "invalid_reference_unreadable": "참고 이미지 {name}을(를) 읽을 수 없습니다",
        "invalid_reference_empty": "참고 이미지 {name}이(가) 비어 있습니다",
        "invalid_run_id": "실행 ID {value}은(는) 폴더 이름으로 쓸 수 없습니다. 영문자, 숫자, '.', '_', '-'만 사용하세요",
        "invalid_run_id_used": "실행 ID {value}은(는) 이미 다른 요청에 사용되었습니다. 다른 ID를 고르세요",
        "cli_sandbox_banner": "샌드박스: 로컬 CreatOK 에뮬레이터 {url}을(를) 사용합니다. 이미지는 임시 이미지이며 요금이 청구되지 않습니다. 이미지 링크는 이 명령이 끝나면 더 이상 열리지 않습니다.",
        "cli_no_key": "CreatOK API 키가 없습니다. {url}에서 키를 만들어 CREATOK_API_KEY로 설정하거나, --sandbox로 로컬에서 먼저 사용해 보세요(임시 이미지, 요금 없음).",
        "cli_interrupted": "중단되었습니다. 잃어버린 것은 없습니다. “{command}”을(를) 실행하면 이어서 진행합니다.",
        "cli_interrupted_task": "작업 {task_id}이(가) 만들어지는 중에 중단되었습니다. 잃어버린 것은 없습니다. “{command}” 또는 “{recover}”을(를) 실행하세요.",
        "cli_results": "결과 저장 위치: {path}",
        "cli_submitted": "제출됨: 작업 {task_id}",
        "cli_status": "상태: {status} ({elapsed:.1f}초)",
        "cli_upload": "참고 이미지 업로드 중 {index}/{total}",
        "cli_continuing": "실행 {run_id}을(를) 이어서 진행합니다.",
        "cli_continuing_task": "실행 {run_id}을(를) 이어서 진행합니다(작업 {task_id}).",
        "cli_finished_earlier": "실행 {run_id}은(는) 이미 끝났기 때문에 결과를 다시 보여 드립니다. 새 이미지를 만들려면 --run-id를 빼거나 새 ID를 지정하세요.",
        "cli_check_again": "`creatok-image --task-id {task_id}`로 다시 확인하거나, `creatok-image --task-id {task_id} --wait`로 끝날 때까지 기다리세요.",
        "cli_interrupted_sending": "요청을 보내는 중에 중단되어 이미 요금이 청구됐을 수 있습니다. `creatok-image --run-id {run_id}`을(를) 실행해 확인하세요. 묻지 않고 요청을 두 번 보내는 일은 없습니다.",
        "cli_finishing_submit": "작업 ID를 저장할 수 있도록 CreatOK가 요청을 확인하기를 기다리는 중입니다(바로 종료하려면 Ctrl-C를 한 번 더 누르세요)...",
        "cli_bad_store": "결과 폴더 {path}을(를) 사용할 수 없습니다({reason}). --artifacts-dir 또는 CREATOK_ARTIFACTS_DIR로 다른 폴더를 지정하세요.",
        "cli_unexpected": "문제가 생겼습니다({error}). 자세한 내용을 보려면 -v를 붙여 다시 실행하세요.",
        "cli_positive_seconds": "0보다 큰 초 단위 숫자여야 합니다(예: 30)",
        "invalid_message_image_remote": "메시지의 {index}번째 이미지는 링크예요. 링크는 열지 않으니 이미지 자체를 첨부해 주세요",
        "invalid_message_image_too_large": "메시지의 {index}번째 이미지가 {max_mb} MB보다 커요",
        "invalid_message_image_undecodable": "메시지의 {index}번째 이미지를 읽을 수 없어요",
        "invalid_message_image_type": "메시지의 {index}번째 이미지는 PNG, JPEG, WebP, GIF 이미지가 아니에요",
        "invalid_message_image_empty": "메시지의 {index}번째 이미지가 비어 있어요",
        # issue 13: every failure tells the truth (keep this block together)
        "cli_still_running": "아직 생성 중이에요. 기다리기는 멈췄지만 작업 {task_id}은 계속 진행돼요. 같은 작업을 계속 기다리려면 `{command}`를 실행하세요(추가 요금 없음).",
        "cli_busy": "실행 {run_id}은 지금 다른 creatok-image 프로세스가 처리하고 있어서, 여기서는 아무것도 보내지 않았어요. 결과는 나중에 `{command}`로 확인하세요.",
        "cli_retrying": "실행 {run_id}은 이전에 요금 없이 끝났어요. 다시 보내기 전에 한 번 더 확인할게요.",
        "rate_limited_after": "지금 CreatOK가 바빠요. {seconds}초 기다린 뒤 다시 시도해 주세요.",
        "server_error_after": "지금 CreatOK에 문제가 있어요. {seconds}초 기다린 뒤 다시 시도해 주세요.",
        "connection_error_url": "CreatOK({url})에 연결할 수 없었어요. 연결 상태와 서비스 주소(CREATOK_BASE_URL)를 확인한 뒤 다시 시도해 주세요.",
        "endpoint_not_found": "{url}이(가) 존재하지 않아요. 서비스 주소(CREATOK_BASE_URL)가 잘못된 것 같아요. 요금은 청구되지 않았어요.",
        "task_not_found": "CreatOK에서 작업 {task_id}을 찾을 수 없었어요({url}). 작업 ID와 서비스 주소를 확인해 주세요.",
        "contract_error_field": "CreatOK의 응답을 이 연동 도구가 이해하지 못해서({field}) 요금이 청구되기 전에 멈췄어요. 이 도구를 업데이트해야 할 수도 있어요.",
        "unknown_outcome_unreadable": "생성 요청은 보냈지만 CreatOK의 응답이 평소의 JSON이 아니었어요(프록시나 잘못된 서비스 주소 때문일 수 있어요). 요청이 받아들여졌는지 알 수 없어서 이미 요금이 청구되었을 수 있어요. 다시 시도하기 전에 https://www.creatok.ai 에서 최근 작업을 확인해 주세요. 다시 보내려면 “다시 시도”(요금이 한 번 더 청구될 수 있어요), 멈추려면 “중지”라고 답해 주세요.",
        "upgrade_link": "다시 시도하기 전에 https://www.creatok.ai/agent-skills 에서 업데이트하세요.",
    },
    "es": {
        # clarify
        "ask_prompt": "¿Qué imagen quieres que cree? Describe el tema, el estilo y el entorno.",
        "offer_refinement": "Tu descripción «{prompt}» es bastante corta. Puedo hacerla más "
        "detallada:\n«{suggestion}»\nResponde «mantener» para usar la tuya tal cual, «usar» para "
        "quedarte con mi sugerencia, o escribe tu propia versión.",
        # confirm
        "confirm_title": "Todo listo para generar {n_images} con {model} en resolución "
        "{resolution}.",
        "n_images_one": "1 imagen",
        "n_images_many": "{n} imágenes",
        "confirm_aspect": "Proporción: {aspect_ratio}.",
        "confirm_refs": "Imágenes de referencia: {names}.",
        "confirm_cost": "Costo estimado: {credits} créditos.",
        "confirm_cost_unknown": "No se pudo calcular el costo por adelantado.",
        "confirm_prompt": "Descripción: «{prompt}»",
        "confirm_question": "¿Sigo adelante? Esto usa tus créditos de CreatOK.",
        "answer_yes_no": "(sí/no)",
        "edit_invalid": "Ese cambio no se puede usar: {reason}",
        "confirm_malformed": "No se puede usar esa respuesta ({reason}). Todavía no se ha generado ni cobrado nada.",
        "confirm_unclear": "No entendí «{answer}». Todavía no se ha generado ni cobrado nada.",
        # outcome
        "succeeded": "¡Listo! Aquí tienes tus imágenes:",
        "succeeded_one": "¡Listo! Aquí tienes tu imagen:",
        "still_running": "Tus imágenes todavía se están creando (tarea {task_id}, estado: "
        "{status}). Pídeme que lo vuelva a revisar cuando quieras, o déjame seguir esperando.",
        "timed_out": "Después de {seconds} segundos tus imágenes todavía se están creando, así que "
        "dejé de esperar. No se ha perdido nada: el ID de la tarea es {task_id}; pídeme que lo "
        "revise de nuevo más tarde.",
        "failed": "Lo siento, no se pudo generar la imagen: {reason}. Puedes intentarlo de nuevo, "
        "quizá con una descripción más sencilla o con otro modelo.",
        "failed_no_reason": "no se indicó el motivo",
        "cancelled": "De acuerdo, no generé nada y no se cobró nada.",
        "cancelled_reason": "De acuerdo, no generé nada y no se cobró nada ({reason}).",
        # problems
        "invalid_request": "No puedo enviar esta solicitud: {reason}. No se cobró nada.",
        "auth_error": "Falta tu clave de API de CreatOK o no es válida. Crea una en {url} y "
        "configúrala como CREATOK_API_KEY.",
        "connection_error": "No pude conectar con CreatOK. Revisa la conexión e inténtalo de "
        "nuevo.",
        "server_error": "CreatOK está teniendo problemas en este momento. Inténtalo de nuevo más "
        "tarde.",
        "rate_limited": "CreatOK está muy ocupado ahora mismo. Espera un minuto e inténtalo de "
        "nuevo.",
        "api_error": "CreatOK rechazó la solicitud: {message}",
        "contract_error": "CreatOK respondió de una forma que esta herramienta no entiende, así "
        "que me detuve antes de que se cobrara nada. Puede que haya que actualizar esta "
        "herramienta.",
        "invalid_response": "No se pudo leer la respuesta de CreatOK; puede que la dirección del "
        "servicio sea incorrecta o que un proxy esté interfiriendo.",
        "not_found": "CreatOK no encontró esa tarea. Revisa el ID de la tarea.",
        "upload_error": "No se pudo subir una imagen de referencia. No se cobró nada; inténtalo de "
        "nuevo.",
        "unexpected_error": "Algo salió mal: {message}",
        "task_id_note": "ID de la tarea: {task_id}",
        "outdated_hint": "Esto ya ha fallado varias veces; puede que la herramienta de CreatOK que "
        "usas esté desactualizada. Te recomiendo actualizarla.",
        "unknown_outcome": "Envié la solicitud de generación, pero la conexión se cortó antes de "
        "que CreatOK respondiera, así que puede que ya se haya cobrado. Revisa tus tareas "
        "recientes en https://www.creatok.ai antes de volver a intentarlo. Responde «reintentar» "
        "para enviarla de nuevo (podría cobrarse otra vez) o «parar» para dejarlo aquí.",
        "details": "Detalles: {details}",
        "invalid_artifacts_dir": "no se pueden guardar los resultados en {value}; elige otra carpeta de resultados (CREATOK_ARTIFACTS_DIR o --artifacts-dir)",
        "confirm_cost_one": "Costo estimado: 1 crédito.",
        "unknown_outcome_stopped": "De acuerdo, me detuve y no envié nada más. La solicitud anterior puede que ya se haya cobrado: revisa tus tareas recientes en https://www.creatok.ai.",
        "maybe_charged": "Puede que CreatOK haya aceptado la solicitud sin confirmarlo, así que puede que ya se haya cobrado. Revisa tus tareas recientes en https://www.creatok.ai antes de volver a intentarlo.",
        "invalid_prompt_empty": "la descripción está vacía; di qué debe mostrar la imagen",
        "invalid_model_unknown": "no existe un modelo llamado {value}; elige uno de estos: {allowed}",
        "invalid_resolution_unknown": "{model} no ofrece la resolución {value}; elige {allowed}",
        "invalid_n_range": "el número de imágenes debe estar entre {min} y {max}",
        "invalid_aspect_ratio_unknown": "{model} no ofrece la relación de aspecto {value}; elige {allowed}",
        "invalid_too_many_references": "{model} admite como máximo {max} imágenes de referencia y se dieron {count}",
        "invalid_reference_type": "{name} no es un tipo de imagen que CreatOK acepte; usa {allowed}",
        "invalid_reference_missing": "no se encontró la imagen de referencia {name}",
        "invalid_reference_unreadable": "no se puede leer la imagen de referencia {name}",
        "invalid_reference_empty": "la imagen de referencia {name} está vacía",
        "invalid_run_id": "el identificador {value} no sirve como nombre de carpeta; usa letras, números, '.', '_' o '-'",
        "invalid_run_id_used": "el identificador {value} ya se usó para otra solicitud; elige otro",
        "cli_sandbox_banner": "Sandbox: usando el emulador local de CreatOK en {url}. Las imágenes son de muestra y no se cobra nada; sus enlaces dejan de funcionar cuando termina este comando.",
        "cli_no_key": "No se encontró ninguna clave de API de CreatOK. Crea una en {url} y ponla en CREATOK_API_KEY, o pruébalo localmente con --sandbox (imágenes de muestra, sin cobro).",
        "cli_interrupted": "Interrumpido. No se perdió nada: ejecuta «{command}» para continuar.",
        "cli_interrupted_task": "Interrumpido mientras se genera la tarea {task_id}. No se perdió nada: ejecuta «{command}» para continuar, o «{recover}».",
        "cli_results": "Resultados guardados en {path}",
        "cli_submitted": "enviada: tarea {task_id}",
        "cli_status": "estado: {status} ({elapsed:.1f} s)",
        "cli_upload": "subiendo la imagen de referencia {index}/{total}",
        "cli_continuing": "Continuando la ejecución {run_id}.",
        "cli_continuing_task": "Continuando la ejecución {run_id} (tarea {task_id}).",
        "cli_finished_earlier": "La ejecución {run_id} ya terminó; aquí tienes su resultado otra vez. Omite --run-id (o elige uno nuevo) para crear imágenes nuevas.",
        "cli_check_again": "Vuelve a consultarla con `creatok-image --task-id {task_id}`, o espera a que termine con `creatok-image --task-id {task_id} --wait`.",
        "cli_interrupted_sending": "Se interrumpió mientras se enviaba la solicitud, así que puede que ya se haya cobrado. Ejecuta `creatok-image --run-id {run_id}` para comprobarlo: nunca envía una solicitud dos veces sin preguntar.",
        "cli_finishing_submit": "Esperando a que CreatOK confirme la solicitud para guardar el ID de la tarea (pulsa Ctrl-C otra vez para salir de inmediato)...",
        "cli_bad_store": "No se puede usar la carpeta de resultados {path} ({reason}). Elige otra con --artifacts-dir o CREATOK_ARTIFACTS_DIR.",
        "cli_unexpected": "Algo salió mal ({error}). Vuelve a ejecutarlo con -v para ver los detalles.",
        "cli_positive_seconds": "debe ser un número de segundos mayor que 0, por ejemplo 30",
        "invalid_message_image_remote": "la imagen {index} de tu mensaje es un enlace, y los enlaces no se abren; adjunta la imagen en sí",
        "invalid_message_image_too_large": "la imagen {index} de tu mensaje ocupa más de {max_mb} MB",
        "invalid_message_image_undecodable": "no se pudo leer la imagen {index} de tu mensaje",
        "invalid_message_image_type": "la imagen {index} de tu mensaje no es una imagen PNG, JPEG, WebP o GIF",
        "invalid_message_image_empty": "la imagen {index} de tu mensaje está vacía",
        # issue 13: every failure tells the truth (keep this block together)
        "cli_still_running": "Sigue en marcha: dejé de esperar, pero la tarea {task_id} continúa. Sigue esperando la misma tarea (sin un nuevo cobro) con `{command}`.",
        "cli_busy": "Otro proceso de creatok-image está atendiendo la ejecución {run_id} ahora mismo, así que este no envió nada. Consulta su resultado más tarde con `{command}`.",
        "cli_retrying": "La ejecución {run_id} terminó antes sin ningún cobro; vuelvo a preguntar antes de enviarla.",
        "rate_limited_after": "CreatOK está muy ocupado ahora mismo. Espera {seconds} s y vuelve a intentarlo.",
        "server_error_after": "CreatOK tiene problemas en este momento. Espera {seconds} s y vuelve a intentarlo.",
        "connection_error_url": "No pude conectar con CreatOK en {url}. Revisa la conexión y la dirección del servicio (CREATOK_BASE_URL) y vuelve a intentarlo.",
        "endpoint_not_found": "{url} no existe, así que la dirección del servicio (CREATOK_BASE_URL) parece incorrecta. No se cobró nada.",
        "task_not_found": "CreatOK no encontró la tarea {task_id} ({url}). Revisa el ID de la tarea y la dirección del servicio.",
        "contract_error_field": "CreatOK respondió de una forma que esta integración no entiende ({field}), así que me detuve antes de cualquier cobro. Puede que esta integración necesite una actualización.",
        "unknown_outcome_unreadable": "Envié la solicitud de generación y CreatOK respondió con algo que no es su JSON habitual (puede que un proxy o una dirección de servicio incorrecta estén en medio), así que no sé si la aceptó: puede que ya se haya cobrado. Revisa tus tareas recientes en https://www.creatok.ai antes de volver a intentarlo. Responde «reintentar» para enviarla de nuevo (esto puede cobrarse una segunda vez) o «parar» para dejarlo aquí.",
        "upgrade_link": "Actualízala en https://www.creatok.ai/agent-skills antes de volver a intentarlo.",
    },
    "pt": {
        # clarify
        "ask_prompt": "Que imagem você quer que eu crie? Descreva o tema, o estilo e o cenário.",
        "offer_refinement": "Sua descrição “{prompt}” está bem curta. Posso deixá-la mais "
        "detalhada:\n“{suggestion}”\nResponda “manter” para usar a sua do jeito que está, “usar” "
        "para ficar com a minha sugestão, ou escreva a sua própria versão.",
        # confirm
        "confirm_title": "Tudo pronto para gerar {n_images} com {model} em resolução {resolution}.",
        "n_images_one": "1 imagem",
        "n_images_many": "{n} imagens",
        "confirm_aspect": "Proporção: {aspect_ratio}.",
        "confirm_refs": "Imagens de referência: {names}.",
        "confirm_cost": "Custo estimado: {credits} créditos.",
        "confirm_cost_unknown": "Não foi possível estimar o custo com antecedência.",
        "confirm_prompt": "Descrição: “{prompt}”",
        "confirm_question": "Posso continuar? Isso usa seus créditos da CreatOK.",
        "answer_yes_no": "(sim/não)",
        "edit_invalid": "Essa alteração não pode ser usada: {reason}",
        "confirm_malformed": "Não dá para usar essa resposta ({reason}). Nada foi gerado nem cobrado ainda.",
        "confirm_unclear": "Não entendi “{answer}”. Nada foi gerado nem cobrado ainda.",
        # outcome
        "succeeded": "Pronto! Aqui estão suas imagens:",
        "succeeded_one": "Pronto! Aqui está sua imagem:",
        "still_running": "Suas imagens ainda estão sendo criadas (tarefa {task_id}, status: "
        "{status}). Peça para eu verificar de novo quando quiser, ou deixe que eu continue "
        "esperando.",
        "timed_out": "Depois de {seconds} segundos suas imagens ainda estavam sendo criadas, então "
        "parei de esperar. Nada foi perdido: o ID da tarefa é {task_id}; peça para eu verificar de "
        "novo mais tarde.",
        "failed": "Desculpe, não foi possível gerar a imagem: {reason}. Você pode tentar de novo, "
        "talvez com uma descrição mais simples ou com outro modelo.",
        "failed_no_reason": "nenhum motivo foi informado",
        "cancelled": "Tudo bem, não gerei nada e nada foi cobrado.",
        "cancelled_reason": "Tudo bem, não gerei nada e nada foi cobrado ({reason}).",
        # problems
        "invalid_request": "Não consigo enviar este pedido: {reason}. Nada foi cobrado.",
        "auth_error": "Sua chave de API da CreatOK está faltando ou não é válida. Crie uma em "
        "{url} e configure-a como CREATOK_API_KEY.",
        "connection_error": "Não consegui me conectar à CreatOK. Verifique a conexão e tente de "
        "novo.",
        "server_error": "A CreatOK está com problemas no momento. Tente de novo mais tarde.",
        "rate_limited": "A CreatOK está sobrecarregada agora. Espere um minuto e tente de novo.",
        "api_error": "A CreatOK recusou o pedido: {message}",
        "contract_error": "A CreatOK respondeu de um jeito que esta ferramenta não entende, então "
        "parei antes de qualquer cobrança. Talvez esta ferramenta precise de uma atualização.",
        "invalid_response": "Não foi possível ler a resposta da CreatOK; o endereço do serviço "
        "pode estar errado ou um proxy pode estar atrapalhando.",
        "not_found": "A CreatOK não encontrou essa tarefa. Confira o ID da tarefa.",
        "upload_error": "Não foi possível enviar uma imagem de referência. Nada foi cobrado; tente "
        "de novo.",
        "unexpected_error": "Algo deu errado: {message}",
        "task_id_note": "ID da tarefa: {task_id}",
        "outdated_hint": "Isso já falhou várias vezes; a ferramenta da CreatOK que você usa pode "
        "estar desatualizada. Vale a pena atualizá-la.",
        "unknown_outcome": "Enviei o pedido de geração, mas a conexão caiu antes de a CreatOK "
        "responder, então ele pode já ter sido cobrado. Confira suas tarefas recentes em "
        "https://www.creatok.ai antes de tentar de novo. Responda “repetir” para enviar de novo "
        "(isso pode gerar uma segunda cobrança) ou “parar” para encerrar por aqui.",
        "details": "Detalhes: {details}",
        "invalid_artifacts_dir": "não é possível salvar os resultados em {value}; escolha outra pasta de resultados (CREATOK_ARTIFACTS_DIR ou --artifacts-dir)",
        "confirm_cost_one": "Custo estimado: 1 crédito.",
        "unknown_outcome_stopped": "Certo, parei e não enviei mais nada. O pedido anterior pode já ter sido cobrado: confira suas tarefas recentes em https://www.creatok.ai.",
        "maybe_charged": "A CreatOK pode ter aceitado o pedido sem confirmar, então ele pode já ter sido cobrado. Confira suas tarefas recentes em https://www.creatok.ai antes de tentar de novo.",
        "invalid_prompt_empty": "a descrição está vazia; diga o que a imagem deve mostrar",
        "invalid_model_unknown": "não existe um modelo chamado {value}; escolha um destes: {allowed}",
        "invalid_resolution_unknown": "{model} não oferece a resolução {value}; escolha {allowed}",
        "invalid_n_range": "o número de imagens deve ficar entre {min} e {max}",
        "invalid_aspect_ratio_unknown": "{model} não oferece a proporção {value}; escolha {allowed}",
        "invalid_too_many_references": "{model} aceita no máximo {max} imagens de referência e foram dadas {count}",
        "invalid_reference_type": "{name} não é um tipo de imagem que a CreatOK aceita; use {allowed}",
        "invalid_reference_missing": "a imagem de referência {name} não foi encontrada",
        "invalid_reference_unreadable": "não é possível ler a imagem de referência {name}",
        "invalid_reference_empty": "a imagem de referência {name} está vazia",
        "invalid_run_id": "o identificador {value} não pode ser usado como nome de pasta; use letras, números, '.', '_' ou '-'",
        "invalid_run_id_used": "o identificador {value} já foi usado para outro pedido; escolha outro",
        "cli_sandbox_banner": "Sandbox: usando o emulador local da CreatOK em {url}. As imagens são de exemplo e nada é cobrado; os links delas param de funcionar quando este comando termina.",
        "cli_no_key": "Nenhuma chave de API da CreatOK encontrada. Crie uma em {url} e defina CREATOK_API_KEY, ou experimente localmente com --sandbox (imagens de exemplo, sem cobrança).",
        "cli_interrupted": "Interrompido. Nada se perdeu: execute “{command}” para continuar.",
        "cli_interrupted_task": "Interrompido enquanto a tarefa {task_id} está sendo gerada. Nada se perdeu: execute “{command}” para continuar, ou “{recover}”.",
        "cli_results": "Resultados salvos em {path}",
        "cli_submitted": "enviado: tarefa {task_id}",
        "cli_status": "situação: {status} ({elapsed:.1f} s)",
        "cli_upload": "enviando a imagem de referência {index}/{total}",
        "cli_continuing": "Continuando a execução {run_id}.",
        "cli_continuing_task": "Continuando a execução {run_id} (tarefa {task_id}).",
        "cli_finished_earlier": "A execução {run_id} já terminou; aqui está o resultado de novo. Deixe de fora o --run-id (ou escolha um novo) para criar novas imagens.",
        "cli_check_again": "Verifique de novo com `creatok-image --task-id {task_id}`, ou espere terminar com `creatok-image --task-id {task_id} --wait`.",
        "cli_interrupted_sending": "Interrompido enquanto o pedido era enviado, então ele pode já ter sido cobrado. Execute `creatok-image --run-id {run_id}` para conferir: ele nunca envia um pedido duas vezes sem perguntar.",
        "cli_finishing_submit": "Aguardando a CreatOK confirmar o pedido para salvar o ID da tarefa (pressione Ctrl-C de novo para sair na hora)...",
        "cli_bad_store": "A pasta de resultados {path} não pode ser usada ({reason}). Escolha outra com --artifacts-dir ou CREATOK_ARTIFACTS_DIR.",
        "cli_unexpected": "Algo deu errado ({error}). Execute de novo com -v para ver os detalhes.",
        "cli_positive_seconds": "deve ser um número de segundos maior que 0, por exemplo 30",
        "invalid_message_image_remote": "a imagem {index} da sua mensagem é um link, e links não são abertos; anexe a própria imagem",
        "invalid_message_image_too_large": "a imagem {index} da sua mensagem tem mais de {max_mb} MB",
        "invalid_message_image_undecodable": "não foi possível ler a imagem {index} da sua mensagem",
        "invalid_message_image_type": "a imagem {index} da sua mensagem não é uma imagem PNG, JPEG, WebP ou GIF",
        "invalid_message_image_empty": "a imagem {index} da sua mensagem está vazia",
        # issue 13: every failure tells the truth (keep this block together)
        "cli_still_running": "Ainda em andamento: parei de esperar, mas a tarefa {task_id} continua. Continue esperando a mesma tarefa (sem nova cobrança) com `{command}`.",
        "cli_busy": "Outro processo do creatok-image está cuidando da execução {run_id} agora, então este não enviou nada. Veja o resultado mais tarde com `{command}`.",
        "cli_retrying": "A execução {run_id} terminou antes sem cobrança; vou perguntar de novo antes de enviá-la.",
        "rate_limited_after": "A CreatOK está sobrecarregada agora. Espere {seconds} s e tente de novo.",
        "server_error_after": "A CreatOK está com problemas no momento. Espere {seconds} s e tente de novo.",
        "connection_error_url": "Não consegui me conectar à CreatOK em {url}. Verifique a conexão e o endereço do serviço (CREATOK_BASE_URL) e tente de novo.",
        "endpoint_not_found": "{url} não existe, então o endereço do serviço (CREATOK_BASE_URL) parece errado. Nada foi cobrado.",
        "task_not_found": "A CreatOK não encontrou a tarefa {task_id} ({url}). Confira o ID da tarefa e o endereço do serviço.",
        "contract_error_field": "A CreatOK respondeu de um jeito que esta ferramenta não entende ({field}), então parei antes de qualquer cobrança. Talvez esta ferramenta precise de uma atualização.",
        "unknown_outcome_unreadable": "Enviei o pedido de geração e a CreatOK respondeu com algo que não é o JSON de sempre (um proxy ou um endereço de serviço errado podem estar no caminho), então não sei se ele foi aceito: pode já ter sido cobrado. Confira suas tarefas recentes em https://www.creatok.ai antes de tentar de novo. Responda “repetir” para enviar de novo (isso pode gerar uma segunda cobrança) ou “parar” para encerrar por aqui.",
        "upgrade_link": "Atualize-a em https://www.creatok.ai/agent-skills antes de tentar de novo.",
    },
}


# -- downloads and the gallery (downloads.py, gallery.py): one block, merged into TEXTS ---------
_DOWNLOAD_TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "download_expired": "Image {index} could not be saved here: its link has expired.",
        "download_failed": "Image {index} could not be saved here ({reason}).",
        "download_still_succeeded": "The images were still made and nothing more will be charged; their links stay listed in result.json.",
        "download_reason_not_found": "the image server no longer has the file",
        "download_reason_http": "the image server answered with error {status}",
        "download_reason_connection_error": "the image server could not be reached",
        "download_reason_too_large": "the file is larger than {limit} MB",
        "download_reason_not_image": "the file is not a PNG, JPEG, WebP or GIF image",
        "download_reason_write_error": "it could not be written to disk",
        "download_reason_bad_response": "the image server's answer could not be read",
        "download_reason_no_url": "CreatOK sent no link for it",
        "download_reason_bad_url": "its link is not a web address",
        "cli_download_retry": "To try the missing downloads again (nothing is charged), run `creatok-image --run-id {run_id}`.",
        "cli_downloading": "saving copies of the images ({count})…",
        "cli_gallery": "Gallery: {path}",
        "gallery_title": "Your CreatOK images",
        "gallery_prompt": "Prompt",
        "gallery_model": "Model",
        "gallery_resolution": "Resolution",
        "gallery_aspect_ratio": "Aspect ratio",
        "gallery_credits": "Estimated credits",
        "gallery_task": "Task",
        "gallery_run": "Run",
        "gallery_image": "Image {index}",
        "gallery_original": "Original link",
        "gallery_expired": "No copy was saved: the link had expired.",
        "gallery_not_saved": "No copy was saved: the download failed.",
        "gallery_unavailable": "This image cannot be shown: no copy was saved and its link no longer works.",
    },
    "zh": {
        "download_expired": "第 {index} 张图片无法保存到本地：它的链接已过期。",
        "download_failed": "第 {index} 张图片无法保存到本地（{reason}）。",
        "download_still_succeeded": "图片已经生成成功，不会再次扣费；所有链接仍记录在 result.json 中。",
        "download_reason_not_found": "图片服务器上已没有这个文件",
        "download_reason_http": "图片服务器返回了错误 {status}",
        "download_reason_connection_error": "无法连接到图片服务器",
        "download_reason_too_large": "文件超过 {limit} MB",
        "download_reason_not_image": "文件不是 PNG、JPEG、WebP 或 GIF 图片",
        "download_reason_write_error": "无法写入磁盘",
        "download_reason_bad_response": "无法读取图片服务器的响应",
        "download_reason_no_url": "CreatOK 没有提供它的链接",
        "download_reason_bad_url": "它的链接不是网址",
        "cli_download_retry": "如需重新下载缺少的图片（不会扣费），请运行 `creatok-image --run-id {run_id}`。",
        "cli_downloading": "正在保存 {count} 张图片的副本…",
        "cli_gallery": "图库：{path}",
        "gallery_title": "你的 CreatOK 图片",
        "gallery_prompt": "提示词",
        "gallery_model": "模型",
        "gallery_resolution": "分辨率",
        "gallery_aspect_ratio": "宽高比",
        "gallery_credits": "预估积分",
        "gallery_task": "任务",
        "gallery_run": "运行",
        "gallery_image": "图片 {index}",
        "gallery_original": "原始链接",
        "gallery_expired": "未保存副本：链接已过期。",
        "gallery_not_saved": "未保存副本：下载失败。",
        "gallery_unavailable": "无法显示这张图片：没有保存副本，而且它的链接已失效。",
    },
    "ja": {
        "download_expired": "画像 {index} をここに保存できませんでした：リンクの有効期限が切れています。",
        "download_failed": "画像 {index} をここに保存できませんでした（{reason}）。",
        "download_still_succeeded": "画像の生成自体は成功しており、追加の料金はかかりません。リンクは result.json に残っています。",
        "download_reason_not_found": "画像サーバーにファイルがもうありません",
        "download_reason_http": "画像サーバーがエラー {status} を返しました",
        "download_reason_connection_error": "画像サーバーに接続できませんでした",
        "download_reason_too_large": "ファイルが {limit} MB を超えています",
        "download_reason_not_image": "ファイルが PNG、JPEG、WebP、GIF のいずれの画像でもありません",
        "download_reason_write_error": "ディスクに書き込めませんでした",
        "download_reason_bad_response": "画像サーバーの応答を読み取れませんでした",
        "download_reason_no_url": "CreatOK からリンクが届きませんでした",
        "download_reason_bad_url": "リンクがウェブアドレスではありません",
        "cli_download_retry": "足りない画像をもう一度ダウンロードするには（料金はかかりません）`creatok-image --run-id {run_id}` を実行してください。",
        "cli_downloading": "{count} 枚の画像のコピーを保存しています…",
        "cli_gallery": "ギャラリー：{path}",
        "gallery_title": "CreatOK で作成した画像",
        "gallery_prompt": "プロンプト",
        "gallery_model": "モデル",
        "gallery_resolution": "解像度",
        "gallery_aspect_ratio": "アスペクト比",
        "gallery_credits": "見積もりクレジット",
        "gallery_task": "タスク",
        "gallery_run": "実行",
        "gallery_image": "画像 {index}",
        "gallery_original": "元のリンク",
        "gallery_expired": "コピーは保存されていません：リンクの有効期限が切れていました。",
        "gallery_not_saved": "コピーは保存されていません：ダウンロードに失敗しました。",
        "gallery_unavailable": "この画像は表示できません：コピーが保存されておらず、リンクも無効です。",
    },
    "ko": {
        "download_expired": "이미지 {index}을(를) 여기에 저장하지 못했습니다. 링크가 만료되었습니다.",
        "download_failed": "이미지 {index}을(를) 여기에 저장하지 못했습니다({reason}).",
        "download_still_succeeded": "이미지는 정상적으로 생성되었고 추가 요금은 청구되지 않습니다. 링크는 result.json에 남아 있습니다.",
        "download_reason_not_found": "이미지 서버에 파일이 더 이상 없습니다",
        "download_reason_http": "이미지 서버가 오류 {status}을(를) 반환했습니다",
        "download_reason_connection_error": "이미지 서버에 연결할 수 없습니다",
        "download_reason_too_large": "파일이 {limit} MB보다 큽니다",
        "download_reason_not_image": "파일이 PNG, JPEG, WebP, GIF 이미지가 아닙니다",
        "download_reason_write_error": "디스크에 쓸 수 없습니다",
        "download_reason_bad_response": "이미지 서버의 응답을 읽을 수 없습니다",
        "download_reason_no_url": "CreatOK가 링크를 보내지 않았습니다",
        "download_reason_bad_url": "링크가 웹 주소가 아닙니다",
        "cli_download_retry": "누락된 이미지를 다시 내려받으려면(요금 없음) `creatok-image --run-id {run_id}`을(를) 실행하세요.",
        "cli_downloading": "이미지 {count}개의 사본을 저장하는 중…",
        "cli_gallery": "갤러리: {path}",
        "gallery_title": "CreatOK 이미지",
        "gallery_prompt": "프롬프트",
        "gallery_model": "모델",
        "gallery_resolution": "해상도",
        "gallery_aspect_ratio": "화면 비율",
        "gallery_credits": "예상 크레딧",
        "gallery_task": "작업",
        "gallery_run": "실행",
        "gallery_image": "이미지 {index}",
        "gallery_original": "원본 링크",
        "gallery_expired": "사본이 저장되지 않았습니다. 링크가 만료되었습니다.",
        "gallery_not_saved": "사본이 저장되지 않았습니다. 다운로드에 실패했습니다.",
        "gallery_unavailable": "이 이미지를 표시할 수 없습니다. 저장된 사본이 없고 링크도 더 이상 작동하지 않습니다.",
    },
    "es": {
        "download_expired": "La imagen {index} no se pudo guardar aquí: su enlace ha caducado.",
        "download_failed": "La imagen {index} no se pudo guardar aquí ({reason}).",
        "download_still_succeeded": "Las imágenes se crearon igualmente y no se cobrará nada más; sus enlaces siguen en result.json.",
        "download_reason_not_found": "el servidor de imágenes ya no tiene el archivo",
        "download_reason_http": "el servidor de imágenes respondió con el error {status}",
        "download_reason_connection_error": "no se pudo conectar con el servidor de imágenes",
        "download_reason_too_large": "el archivo supera los {limit} MB",
        "download_reason_not_image": "el archivo no es una imagen PNG, JPEG, WebP ni GIF",
        "download_reason_write_error": "no se pudo escribir en el disco",
        "download_reason_bad_response": "no se pudo leer la respuesta del servidor de imágenes",
        "download_reason_no_url": "CreatOK no envió ningún enlace",
        "download_reason_bad_url": "su enlace no es una dirección web",
        "cli_download_retry": "Para volver a intentar las descargas que faltan (sin ningún cargo), ejecuta `creatok-image --run-id {run_id}`.",
        "cli_downloading": "guardando copias de las imágenes ({count})…",
        "cli_gallery": "Galería: {path}",
        "gallery_title": "Tus imágenes de CreatOK",
        "gallery_prompt": "Descripción",
        "gallery_model": "Modelo",
        "gallery_resolution": "Resolución",
        "gallery_aspect_ratio": "Relación de aspecto",
        "gallery_credits": "Créditos estimados",
        "gallery_task": "Tarea",
        "gallery_run": "Ejecución",
        "gallery_image": "Imagen {index}",
        "gallery_original": "Enlace original",
        "gallery_expired": "No se guardó ninguna copia: el enlace había caducado.",
        "gallery_not_saved": "No se guardó ninguna copia: la descarga falló.",
        "gallery_unavailable": "Esta imagen no se puede mostrar: no se guardó ninguna copia y su enlace ya no funciona.",
    },
    "pt": {
        "download_expired": "A imagem {index} não pôde ser salva aqui: o link expirou.",
        "download_failed": "A imagem {index} não pôde ser salva aqui ({reason}).",
        "download_still_succeeded": "As imagens foram criadas mesmo assim e nada mais será cobrado; os links continuam em result.json.",
        "download_reason_not_found": "o servidor de imagens não tem mais o arquivo",
        "download_reason_http": "o servidor de imagens respondeu com o erro {status}",
        "download_reason_connection_error": "não foi possível conectar ao servidor de imagens",
        "download_reason_too_large": "o arquivo tem mais de {limit} MB",
        "download_reason_not_image": "o arquivo não é uma imagem PNG, JPEG, WebP ou GIF",
        "download_reason_write_error": "não foi possível gravá-lo no disco",
        "download_reason_bad_response": "não foi possível ler a resposta do servidor de imagens",
        "download_reason_no_url": "a CreatOK não enviou um link para ela",
        "download_reason_bad_url": "o link não é um endereço da web",
        "cli_download_retry": "Para tentar de novo os downloads que faltam (nada é cobrado), execute `creatok-image --run-id {run_id}`.",
        "cli_downloading": "salvando cópias das imagens ({count})…",
        "cli_gallery": "Galeria: {path}",
        "gallery_title": "Suas imagens da CreatOK",
        "gallery_prompt": "Descrição",
        "gallery_model": "Modelo",
        "gallery_resolution": "Resolução",
        "gallery_aspect_ratio": "Proporção",
        "gallery_credits": "Créditos estimados",
        "gallery_task": "Tarefa",
        "gallery_run": "Execução",
        "gallery_image": "Imagem {index}",
        "gallery_original": "Link original",
        "gallery_expired": "Nenhuma cópia foi salva: o link tinha expirado.",
        "gallery_not_saved": "Nenhuma cópia foi salva: o download falhou.",
        "gallery_unavailable": "Esta imagem não pode ser exibida: nenhuma cópia foi salva e o link não funciona mais.",
    },
}
for _code, _texts in _DOWNLOAD_TEXTS.items():
    TEXTS[_code].update(_texts)


def text(lang: str | None, key: str, **params: Any) -> str:
    """The sentence ``key`` in ``lang`` (English if we lack it), filled with ``params``.

    Region tags are ignored ("pt-BR" reads as "pt") so a locale string can be passed as is.
    """
    code = (lang or DEFAULT_LANGUAGE).replace("_", "-").split("-")[0].lower()
    table = TEXTS.get(code) or TEXTS[DEFAULT_LANGUAGE]
    template = table.get(key) or TEXTS[DEFAULT_LANGUAGE][key]
    return template.format(**params) if params else template
